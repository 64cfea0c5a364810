"""python -m segtasks.follow --what TEXT [--log FILE] [...] -- COMMAND [ARGS...]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segtasks.follow.runner import HEARTBEAT_EVERY_S, follow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segtasks.follow",
        description="Run COMMAND; keep its output in --log, show the lines that matter and "
                    "say what is still running whenever SECONDS pass without a line. Exits "
                    "with COMMAND's status.")
    parser.add_argument("--what", required=True, help="what the command does, e.g. "
                        "'installing the packages' (shown in the heartbeat)")
    parser.add_argument("--log", type=Path, metavar="FILE",
                        help="write the whole output here (default: show it all)")
    parser.add_argument("--every", type=float, default=HEARTBEAT_EVERY_S, metavar="SECONDS",
                        help="longest silence before a heartbeat line (default: %(default)g)")
    parser.add_argument("--show", action="append", default=[], metavar="REGEX",
                        help="also show the lines that match (repeatable)")
    parser.add_argument("--airflow-tasks", action="store_true",
                        help="show one line per task of an `airflow dags test` run")
    parser.add_argument("--tail", type=int, default=40, metavar="N",
                        help="lines of the log shown when the command fails")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (after --)")
    try:
        return follow(command, what=args.what, log=args.log, every=args.every,
                      show=args.show, show_all=args.log is None,
                      airflow_tasks=args.airflow_tasks, tail=args.tail)
    except KeyboardInterrupt:  # the command, in our process group, got the interrupt too
        return 130


if __name__ == "__main__":
    sys.exit(main())
