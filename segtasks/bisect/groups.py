"""The change groups of a package bisection: the packages that differ between two locks,
grouped as uv decides what must move together.

Each changed package (added and removed ones too) starts as a group of its own. A group is
kept when the control's lock with that group moved to the treatment's versions resolves:
`uv pip compile` of the pinned requirements (every package of the lock pinned, or at its
own source) succeeds. When it does not, uv's explanation names the packages in conflict
("Because pkg-b==2.0 depends on pkg-a>=2 and you require pkg-a==1.0 ..."): the group is
merged with the groups of the changed packages named there, and the merged groups are
tried again, one uv call per candidate group per round, until every group resolves. When
uv names no other changed package, the group is merged with everything left (one group)
and a warning says so. `uv pip compile` suits: it resolves without installing, from the
same indexes and cache as the builds, and says why a resolution fails; the environments
themselves are built with `uv pip sync`, which does not check dependencies at all.

The control itself is compiled first, offline from uv's cache (as fast as it gets): when it
resolves so, the groups are tried offline too, and a group that fails offline is tried once
more online, since offline uv cannot tell a conflict from a version missing in its cache.
When the control resolves only online, every try is online. When the control does not
resolve at all (an environment installed against its own dependencies), uv cannot judge
the groups: each package is its own group, and a warning says why.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from pathlib import Path

from segtasks.bisect.errors import NotBisectable
from segtasks.bisect.locks import changed_names, lock_moving_names
from segtasks.domain.bisection import ChangeGroup
from segtasks.envs.diff import package_changes
from segtasks.envs.lock import Lock, normalize
from segtasks.envs.uv import IndexSettings, pip_settings, uv_pip

log = logging.getLogger(__name__)

# what may be a distribution's name in uv's explanation; only the changed packages count
_NAME = re.compile(r"(?<![A-Za-z0-9._/-])([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])"
                   r"(?=[\s=<>!~@,;:\[]|$)")
# uv's words for a registry it could not reach (as build.py reads them)
_UNREACHABLE = re.compile(r"error sending request|tcp connect error|connection refused|"
                          r"dns error|failed to lookup address|timed out|network is "
                          r"unreachable|could not connect", re.IGNORECASE)


def change_groups(control: Lock, treatment: Lock, *,
                  settings: IndexSettings | None = None) -> tuple[ChangeGroup, ...]:
    """The groups of packages that move together from `control` to `treatment`, ordered by
    their first package's name, indexed from 0."""
    if control.python_version != treatment.python_version:
        raise NotBisectable(f"the interpreter changed (python {control.python_version} -> "
                            f"{treatment.python_version}): a bisection moves packages, "
                            "not the interpreter they are installed for")
    changed = changed_names(control, treatment)
    if not changed:
        raise NotBisectable(f"locks {control.short} and {treatment.short} hold the same "
                            "packages: nothing to bisect")
    groups = [frozenset({name}) for name in changed]
    if len(groups) > 1:
        groups = _merged_until_resolved(control, treatment, groups,
                                        pip_settings() if settings is None else settings)
    return _as_change_groups(control, treatment, groups)


def _as_change_groups(control: Lock, treatment: Lock,
                      groups: list[frozenset[str]]) -> tuple[ChangeGroup, ...]:
    lines = {line.split(" ", 1)[0]: line for line in package_changes(control, treatment)}
    ordered = sorted((sorted(g) for g in groups), key=lambda names: names[0])
    return tuple(ChangeGroup(index=i, changes=tuple(lines[n] for n in names),
                             packages=tuple(names)) for i, names in enumerate(ordered))


def _merged_until_resolved(control: Lock, treatment: Lock, groups: list[frozenset[str]],
                           settings: IndexSettings) -> list[frozenset[str]]:
    resolver = _Resolver(settings)
    if not resolver.start(control):
        return groups
    everything = frozenset().union(*groups)
    resolved: set[frozenset[str]] = set()
    while True:
        merges: list[set[str]] = []
        for group in sorted(groups, key=min):
            if group in resolved or group == everything:  # the treatment itself resolves
                continue
            named = resolver.conflict(lock_moving_names(control, treatment, group))
            if named is None:
                resolved.add(group)
                continue
            partners = {n for n in named if n in everything} - group
            if not partners:
                log.warning("uv cannot resolve the control with %s moved and names no other "
                            "changed package: all %d changed packages are one group",
                            ", ".join(sorted(group)), len(everything))
                return [everything]
            merges.append({*group, *partners})
        if not merges:
            return groups
        groups = _union(groups, merges)


def _union(groups: list[frozenset[str]], merges: list[set[str]]) -> list[frozenset[str]]:
    """The groups with every group that shares a name with a merge joined into one."""
    out = [set(g) for g in groups]
    for merge in merges:
        joined = set(merge)
        rest = []
        for g in out:
            if g & joined:
                joined |= g
            else:
                rest.append(g)
        out = [*rest, joined]
    return [frozenset(g) for g in out]


class _Resolver:
    """`uv pip compile` of a lock's pinned requirements: offline when the control resolves
    offline, else online (see the module's docstring)."""

    def __init__(self, settings: IndexSettings) -> None:
        self._settings = settings
        self._offline = True

    def start(self, control: Lock) -> bool:
        """Whether the control resolves (offline, else online); decides the mode."""
        done = self._compile(control, offline=True)
        if done.returncode == 0:
            return True
        self._offline = False
        online = self._compile(control, offline=False)
        if online.returncode == 0:
            return True
        log.warning("the control lock %s does not resolve by itself (%s): uv cannot say "
                    "which packages move together, each changed package is its own group",
                    control.short, _last_line(online))
        return False

    def conflict(self, lock: Lock) -> set[str] | None:
        """None when `lock` resolves; else the (normalized) names in uv's explanation."""
        done = self._compile(lock, offline=self._offline)
        if done.returncode != 0 and self._offline:
            online = self._compile(lock, offline=False)
            if online.returncode == 0:
                return None
            if not _UNREACHABLE.search(online.stderr):
                done = online
        if done.returncode == 0:
            return None
        log.info("uv cannot resolve lock %s: %s", lock.short, _last_line(done))
        return {normalize(name) for name in _NAME.findall(done.stderr)}

    def _compile(self, lock: Lock, *, offline: bool) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="segbench-groups-") as tmp:
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text(lock.requirements())
            cmd, env = uv_pip("compile", [
                *(["--offline"] if offline else []), "--quiet", "--no-header",
                "--python-version", lock.python_version, "--output-file",
                str(Path(tmp) / "resolved.txt"), str(requirements)], self._settings)
            log.debug("running %s", " ".join(cmd))
            return subprocess.run(cmd, capture_output=True, text=True, env=env)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return (lines or [f"exit status {done.returncode}"])[-1]
