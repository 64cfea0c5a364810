"""`segbench env snapshot|build|list|diff`: Python environments as recorded locks."""

from __future__ import annotations

import argparse
from typing import Any

from segtasks import store

CURRENT = "current"  # the lock of the interpreter running segbench, unstored


def _lock(ref: str, url: str | None) -> Any:
    from segtasks.envs.snapshot import current
    from segtasks.store.locks import get_lock

    return current() if ref == CURRENT else get_lock(store.connect(url), ref)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from segtasks.envs.snapshot import snapshot
    from segtasks.store.locks import save_lock

    lock = snapshot(args.python)
    save_lock(store.connect(args.url), lock, origin="snapshot", name=args.name)
    named = f" as {args.name!r}" if args.name else ""
    code = f", code {lock.code_revision[:12]}" if lock.code_revision else ""
    print(f"stored lock {lock.short}{named}: Python {lock.python_version}, "
          f"{len(lock.packages)} packages{code}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from segtasks.envs.build import build

    print(build(_lock(args.ref, args.url)))  # the interpreter alone: `$(segbench env build X)`
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from segtasks.store.locks import list_locks

    rows = list_locks(store.connect(args.url))
    if not rows:
        print("no stored lock yet (segbench env snapshot records this environment's)")
    for row in rows:
        name = f" {row.name}" if row.name else ""
        code = f", code {row.code_revision[:12]}" if row.code_revision else ""
        print(f"{row.short}{name}: Python {row.python_version}, {row.packages} packages"
              f"{code}; {row.origin} {row.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from segtasks.envs.diff import package_changes

    control, treatment = _lock(args.a, args.url), _lock(args.b, args.url)
    changes = package_changes(control, treatment)
    for line in changes:
        print(line)
    if not changes:
        print(f"locks {control.short} and {treatment.short} hold the same interpreter and "
              "packages")
    return 0


def add_env_commands(sub: Any, url_help: str) -> None:
    """`segbench env ...` on the main parser's subcommands."""
    ref_help = ("a stored lock's name, its sha256 or a prefix of it (6 digits or more), or "
                f"{CURRENT!r} for this environment")
    p = sub.add_parser("env", help="Python environments as recorded locks: snapshot, build, "
                                   "list, diff")
    envs = p.add_subparsers(dest="action", required=True)
    q = envs.add_parser("snapshot", help="record an environment's lock in the results database",
                        description="Records the interpreter's version and every installed "
                                    "distribution (segbench itself excepted: the harness is "
                                    "always the checkout's), with the code revision.")
    q.add_argument("--name", help="a name for it (taken from the lock that had it, if any)")
    q.add_argument("--python", help="that environment's interpreter (default: this one)")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_snapshot)
    q = envs.add_parser("build", help="make a lock a virtual environment under var/envs (uv); "
                                      "print its interpreter",
                        description="Builds with uv from the registry, or from uv's cache when "
                                    "the registry cannot be reached; does nothing when built.")
    q.add_argument("ref", help=ref_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_build)
    q = envs.add_parser("list", help="the stored locks, newest first")
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_list)
    q = envs.add_parser("diff", help="the packages that differ between two locks")
    q.add_argument("a", help=ref_help)
    q.add_argument("b", help=ref_help)
    q.add_argument("--url", help=url_help)
    q.set_defaults(func=cmd_diff)
