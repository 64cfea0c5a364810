"""A lock: the interpreter's version and every installed distribution, hashed.

The hash covers what decides how the model runs (the interpreter and the packages), not
the project's code revision, which is recorded beside it: the harness that measures is
always tonight's segtasks, whichever environment it measures in.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any


def normalize(name: str) -> str:
    """PEP 503's form of a distribution name: `Foo_Bar.baz` and `foo-bar-baz` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Package:
    name: str  # PEP 503-normalized
    version: str
    source: str | None = None  # a URL (file://, git+https://...) where not from the registry

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalize(self.name))

    def requirement(self) -> str:
        """Its line in a requirements file: pinned, or from its own source."""
        return f"{self.name} @ {self.source}" if self.source else f"{self.name}=={self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Package:
        return cls(name=d["name"], version=d["version"], source=d.get("source"))


@dataclass(frozen=True)
class Lock:
    python_version: str  # e.g. "3.11.7"
    packages: tuple[Package, ...]
    code_revision: str | None = None  # the checkout's commit when recorded: not hashed

    def __post_init__(self) -> None:
        # one order whatever the order found: equal locks compare (and hash) equal
        packages = tuple(sorted(self.packages, key=lambda p: p.name))
        names = [p.name for p in packages]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"a lock holds each package once, not {', '.join(twice)} twice")
        object.__setattr__(self, "packages", packages)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(
            {"python_version": self.python_version,
             "packages": [p.to_dict() for p in self.packages]},
            sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def short(self) -> str:
        return self.sha256[:12]

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "python_version": self.python_version,
                "packages": [p.to_dict() for p in self.packages],
                "code_revision": self.code_revision}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Lock:
        """The inverse of to_dict; its `sha256`, if any, is recomputed, not trusted."""
        return cls(python_version=d["python_version"],
                   packages=tuple(Package.from_dict(p) for p in d["packages"]),
                   code_revision=d.get("code_revision"))

    def requirements(self) -> str:
        """A requirements file that installs exactly these packages (`uv pip sync`)."""
        return "".join(p.requirement() + "\n" for p in self.packages)

    def version_of(self, name: str) -> str | None:
        wanted = normalize(name)
        return next((p.version for p in self.packages if p.name == wanted), None)

    def package(self, name: str) -> Package | None:
        wanted = normalize(name)
        return next((p for p in self.packages if p.name == wanted), None)
