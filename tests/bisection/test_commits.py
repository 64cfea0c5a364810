"""A bisection over commits: the git revision range of one package, its commits listed
from a real local repository, and one commit's environment built by uv from git+file."""

from __future__ import annotations

import pytest

from segtasks.bisect.commits import (
    GitSource,
    commit_groups,
    git_range,
    git_source,
    local_repository,
    lock_at_commit,
)
from segtasks.bisect.errors import CommitsUnavailable
from segtasks.envs.build import build
from segtasks.envs.lock import Package
from segtasks.envs.snapshot import snapshot

from .conftest import lock
from .gitrepo import NAME, git_package_repo


def test_git_sources_as_pip_and_uv_record_them():
    sha = "a" * 40
    assert git_source(f"git+file:///srv/repo@{sha}") == GitSource("file:///srv/repo", sha)
    assert git_source(f"git+ssh://git@host/x/repo.git@{sha}#subdirectory=py") == GitSource(
        "ssh://git@host/x/repo.git", sha, "#subdirectory=py")
    assert git_source(f"git+https://host/x/repo@{sha}").at("b" * 40) == \
        f"git+https://host/x/repo@{'b' * 40}"
    for other in (None, "file:///wheels/x-1.0-py3-none-any.whl", "git+https://host/x/repo",
                  "git+https://host/x/repo@main"):
        assert git_source(other) is None


@pytest.fixture
def repo(tmp_path):
    folder = tmp_path / "repo"
    return folder, git_package_repo(folder, 4)


def _at(folder, sha, version="0.1"):
    return Package(NAME, version, source=f"git+{folder.as_uri()}@{sha}")


def test_the_commits_of_a_revision_range_are_its_groups(repo):
    folder, shas = repo
    other = Package("segbench-test-other", "1.0")
    control, treatment = lock(_at(folder, shas[0]), other), lock(_at(folder, shas[3]), other)
    found = git_range(control, treatment)
    assert found is not None and (found.old, found.new) == (shas[0], shas[3])
    groups = commit_groups(found)
    assert [(g.index, g.commit, g.packages) for g in groups] == [
        (i, sha, (NAME,)) for i, sha in enumerate(shas[1:])]
    assert groups[0].changes == (f"{NAME} {shas[1][:12]}: change 2",)
    # another package changing too: a package bisection, not one over commits
    assert git_range(control, lock(_at(folder, shas[3]), Package(other.name, "2.0"))) is None
    with pytest.raises(CommitsUnavailable, match="is the treatment's revision older"):
        commit_groups(git_range(treatment, control))


def test_a_commits_environment_is_built_from_git(repo):
    folder, shas = repo
    control, treatment = lock(_at(folder, shas[0])), lock(_at(folder, shas[3]))
    found = git_range(control, treatment)
    middle = lock_at_commit(control, found, shas[2])
    assert lock_at_commit(control, found, shas[3]) == treatment
    python = build(middle)  # uv from its cache, setuptools for the build
    installed = snapshot(str(python)).package(NAME)
    assert installed.source == f"git+{folder.as_uri()}@{shas[2]}"
    code = python.parents[1].glob(f"lib/python*/site-packages/{NAME.replace('-', '_')}/"
                                  "__init__.py")
    assert next(code).read_text() == "STEP = 3\n"


def test_a_remote_out_of_reach_is_one_line():
    with pytest.raises(CommitsUnavailable, match=r"^cannot clone or fetch https://127\.0\."):
        local_repository("https://127.0.0.1:9/nobody/repo.git")
