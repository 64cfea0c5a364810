"""A bisection over commits: when the only change between two locks is one package
installed from a git revision range, each commit between the two revisions is a group.

A git source is what pip and uv record for a direct reference (PEP 610's direct_url.json,
read by segtasks.envs.snapshot): `git+<url>@<full sha>`, optionally `#subdirectory=...`;
`<url>` is `file:///path/repo` (the repository used in place) or a remote one
(`https://...`, cloned bare into var/bisect-repos/ once, fetched again later). The commits
are those of the treatment's first-parent line since the control's revision, oldest
first; the environment at commit k is the control with that package at commit k.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from segtasks import paths
from segtasks.bisect.errors import CommitsUnavailable
from segtasks.bisect.locks import changed_names
from segtasks.domain.bisection import ChangeGroup
from segtasks.envs.lock import Lock, Package

_SHA = re.compile(r"[0-9a-fA-F]{7,40}")
GIT_TIMEOUT_S = 600  # a first clone of a large remote


@dataclass(frozen=True)
class GitSource:
    url: str  # file:///path/repo or a remote URL, without git+ and the revision
    revision: str
    fragment: str = ""  # "#subdirectory=..." as recorded, or ""

    def at(self, revision: str) -> str:
        return f"git+{self.url}@{revision}{self.fragment}"


@dataclass(frozen=True)
class GitRange:
    package: str  # normalized name
    control: Package
    treatment: Package
    url: str
    old: str
    new: str
    fragment: str = ""


def git_source(source: str | None) -> GitSource | None:
    """The parts of a `git+<url>@<sha>[#fragment]` source; None for any other."""
    if not source or not source.startswith("git+"):
        return None
    rest, hash_sign, fragment = source[len("git+"):].partition("#")
    url, at, revision = rest.rpartition("@")
    if not at or not _SHA.fullmatch(revision) or "/" not in url:
        return None
    return GitSource(url, revision, hash_sign + fragment)


def git_range(control: Lock, treatment: Lock) -> GitRange | None:
    """The git revision range when the only package that differs is one installed from
    the same git repository in both locks, at two revisions; else None."""
    if control.python_version != treatment.python_version:
        return None
    changed = changed_names(control, treatment)
    if len(changed) != 1:
        return None
    return package_range(control, treatment, changed[0])


def package_range(control: Lock, treatment: Lock, name: str) -> GitRange | None:
    """`name`'s git revision range between the two locks, if both install it from one
    git repository (and subdirectory) at different revisions."""
    before, after = control.package(name), treatment.package(name)
    old = git_source(before.source) if before else None
    new = git_source(after.source) if after else None
    if (old is None or new is None or old.url != new.url or old.fragment != new.fragment
            or old.revision == new.revision):
        return None
    assert before is not None and after is not None
    return GitRange(before.name, before, after, old.url, old.revision, new.revision,
                    old.fragment)


def repos_root() -> Path:
    return paths.var_dir() / "bisect-repos"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        # never a prompt for credentials: a night has nobody to answer it
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommitsUnavailable(f"cannot run git {args[0]}: {exc}") from None


def _last(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return (lines or [f"exit status {done.returncode}"])[-1]


def local_repository(url: str) -> Path:
    """A local repository holding `url`'s commits: a file:// one in place; a remote one
    cloned bare under var/bisect-repos/ (fetched again when already there)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        folder = Path(unquote(parsed.path))
        if not folder.exists():
            raise CommitsUnavailable(f"the repository {folder} is gone: its commits "
                                     "cannot be listed")
        return folder
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", parsed.path.strip("/"))[-60:] or "repo"
    folder = repos_root() / f"{name}-{digest}.git"
    if folder.exists():
        done = _git("-C", str(folder), "fetch", "--quiet", "origin",
                    "+refs/heads/*:refs/heads/*")
    else:
        folder.parent.mkdir(parents=True, exist_ok=True)
        done = _git("clone", "--quiet", "--bare", url, str(folder))
    if done.returncode != 0:
        raise CommitsUnavailable(f"cannot clone or fetch {url}: {_last(done)}")
    return folder


def commits_between(repository: Path, old: str, new: str) -> list[tuple[str, str]]:
    """(sha, subject) of the first-parent commits after `old` up to `new`, oldest first."""
    done = _git("-C", str(repository), "log", "--reverse", "--first-parent",
                "--format=%H%x00%s", f"{old}..{new}")
    if done.returncode != 0:
        raise CommitsUnavailable(f"cannot list the commits {old[:12]}..{new[:12]} in "
                                 f"{repository}: {_last(done)}")
    commits = [tuple(line.split("\0", 1)) for line in done.stdout.splitlines() if line]
    if not commits:
        raise CommitsUnavailable(f"no commit leads from {old[:12]} to {new[:12]} in "
                                 f"{repository} (is the treatment's revision older?)")
    return [(sha, subject) for sha, subject in commits]


def commit_groups(found: GitRange) -> tuple[ChangeGroup, ...]:
    """One group per commit of the range, oldest first (the last is the treatment's)."""
    commits = commits_between(local_repository(found.url), found.old, found.new)
    return tuple(ChangeGroup(index=i, changes=(f"{found.package} {sha[:12]}: {subject}",),
                             packages=(found.package,), commit=sha)
                 for i, (sha, subject) in enumerate(commits))


def lock_at_commit(control: Lock, found: GitRange, commit: str) -> Lock:
    """The control with the package at `commit`. At the treatment's revision it is the
    treatment's package; at another, its version is unknown until built, and a made-up
    local version naming the commit keeps each commit's lock (and hash) apart."""
    if commit == found.new:
        package = found.treatment
    else:
        package = Package(found.package, f"0+g{commit[:12]}",
                          source=f"git+{found.url}@{commit}{found.fragment}")
    return Lock(python_version=control.python_version,
                packages=(*(p for p in control.packages if p.name != found.package),
                          package),
                code_revision=control.code_revision)
