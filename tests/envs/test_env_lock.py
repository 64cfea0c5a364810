"""Locks as values: the hash, the requirements, the differences, the planted wheel."""

import base64
import hashlib
import re
import zipfile

import pytest

from segtasks.envs.diff import package_changes
from segtasks.envs.lock import Lock, Package
from segtasks.envs.planted import NAME, lock_with, planted_slowdown_wheel
from segtasks.errors import UsageError

BASE = Lock("3.11.7", (Package("torch", "2.14.1"), Package("Foo_Bar", "1.0")), "abc")


def test_names_are_pep503_normalized_and_the_order_does_not_matter():
    assert Package("Foo_Bar.baz", "1").name == "foo-bar-baz"
    shuffled = Lock("3.11.7", (Package("foo-bar", "1.0"), Package("TORCH", "2.14.1")), "abc")
    assert shuffled == BASE and shuffled.sha256 == BASE.sha256
    assert [p.name for p in BASE.packages] == ["foo-bar", "torch"]
    assert BASE.version_of("foo_bar") == "1.0" and BASE.version_of("numpy") is None


def test_the_hash_covers_interpreter_and_packages_but_not_the_code_revision():
    assert Lock("3.11.7", BASE.packages, "def").sha256 == BASE.sha256
    assert Lock("3.11.7", BASE.packages, None).sha256 == BASE.sha256
    others = [Lock("3.12.1", BASE.packages),
              Lock("3.11.7", (Package("torch", "2.14.0"), Package("foo-bar", "1.0"))),
              Lock("3.11.7", (Package("torch", "2.14.1", "file:///w/torch.whl"),
                              Package("foo-bar", "1.0"))),
              Lock("3.11.7", (Package("torch", "2.14.1"),))]
    digests = {BASE.sha256, *(lock.sha256 for lock in others)}
    assert len(digests) == 1 + len(others)
    assert len(BASE.sha256) == 64 and BASE.short == BASE.sha256[:12]


def test_a_lock_survives_its_dict_and_says_its_requirements():
    lock = Lock("3.11.7", (Package("torch", "2.14.1"),
                           Package("foo", "1.0", "file:///w/foo-1.0-py3-none-any.whl")), "abc")
    assert Lock.from_dict(lock.to_dict()) == lock
    assert lock.to_dict()["sha256"] == lock.sha256
    assert lock.requirements() == ("foo @ file:///w/foo-1.0-py3-none-any.whl\n"
                                   "torch==2.14.1\n")


def test_a_package_is_held_once():
    with pytest.raises(ValueError, match="foo twice"):
        Lock("3.11.7", (Package("foo", "1.0"), Package("Foo", "2.0")))


def test_the_changes_between_two_locks_one_line_each_sorted():
    control = Lock("3.11.7", (Package("torch", "2.14.0"), Package("foo", "1.0"),
                              Package("same", "3.0"), Package("moved", "1.0")))
    treatment = Lock("3.12.1", (Package("torch", "2.14.1"), Package("same", "3.0"),
                                Package(NAME, "5.0", "file:///w/p.whl"),
                                Package("moved", "1.0", "file:///w/moved.whl")))
    assert package_changes(control, treatment) == [
        "foo 1.0 -> absent",
        "moved 1.0 (registry) -> 1.0 (file:///w/moved.whl)",
        "python 3.11.7 -> 3.12.1",
        "segbench-planted-slowdown absent -> 5.0",
        "torch 2.14.0 -> 2.14.1",
    ]
    assert package_changes(control, control) == []


def test_the_planted_wheel_is_a_valid_wheel_whose_version_is_the_percentage(tmp_path):
    wheel = planted_slowdown_wheel(5, tmp_path)
    assert wheel.name == "segbench_planted_slowdown-5.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read("segbench_planted_slowdown-5.0.dist-info/RECORD").decode()
        for line in record.splitlines():
            path, digest, size = line.split(",")
            if path.endswith("RECORD"):
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data)), path
        metadata = archive.read("segbench_planted_slowdown-5.0.dist-info/METADATA").decode()
        module = archive.read("segbench_planted_slowdown/__init__.py").decode()
    assert {"segbench_planted_slowdown.pth", "segbench_planted_slowdown/__init__.py"} <= names
    assert "Name: segbench-planted-slowdown\nVersion: 5.0\n" in metadata
    assert re.search(r"^PERCENT = 5\.0 ", module, re.MULTILINE)
    first = wheel.read_bytes()
    assert planted_slowdown_wheel(5, tmp_path).read_bytes() == first  # the same lock again
    assert planted_slowdown_wheel(2.5, tmp_path).name.startswith(
        "segbench_planted_slowdown-2.5-")


def test_lock_with_adds_the_planted_package_from_its_file(tmp_path):
    five, ten = planted_slowdown_wheel(5, tmp_path), planted_slowdown_wheel(10, tmp_path)
    treatment = lock_with(BASE, five)
    assert treatment.package(NAME) == Package(NAME, "5.0", five.resolve().as_uri())
    assert treatment.code_revision == BASE.code_revision
    assert package_changes(BASE, treatment) == ["segbench-planted-slowdown absent -> 5.0"]
    assert lock_with(treatment, ten).version_of(NAME) == "10.0"  # replaced, not added
    with pytest.raises(UsageError, match="not a wheel of segbench-planted-slowdown"):
        lock_with(BASE, tmp_path / "torch-2.14.1-py3-none-any.whl")
    with pytest.raises(UsageError, match="at least 0"):
        planted_slowdown_wheel(-1, tmp_path)
