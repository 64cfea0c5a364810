"""The lock of a live environment."""

import subprocess

import pytest

from segtasks.envs.snapshot import PROJECT, ROOT, SnapshotFailed, current, snapshot


def test_the_running_environment_has_torch_and_not_the_project_itself():
    import importlib.metadata
    import platform

    lock = snapshot()
    assert lock.python_version == platform.python_version()
    # torch.__version__ may carry a local label (+cu130) that the distribution's has not
    assert lock.version_of("torch") == importlib.metadata.version("torch")
    assert lock.version_of("segmentation-models-pytorch") is not None
    assert lock.version_of(PROJECT) is None  # the harness is always tonight's checkout
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    assert lock.code_revision == (head.stdout.strip() if head.returncode == 0 else None)
    assert current() is current() and current().sha256 == lock.sha256


def test_another_interpreter_that_cannot_run_is_one_line(tmp_path):
    with pytest.raises(SnapshotFailed, match="cannot run .*/nope to list its packages"):
        snapshot(str(tmp_path / "nope"))
    failing = tmp_path / "python"
    failing.write_text("#!/bin/sh\necho 'no such thing' >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(SnapshotFailed, match="could not list its packages: no such thing"):
        snapshot(str(failing))


def test_a_copy_outside_git_has_no_code_revision(tmp_path):
    from segtasks.envs.snapshot import code_revision

    assert code_revision(tmp_path) is None
