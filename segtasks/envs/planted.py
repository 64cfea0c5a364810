"""A planted regression that lives in the environment, for tests and benchmarks: a wheel
whose package slows every UnetPlusPlus forward by a known percentage.

The harness (segtasks) knows nothing of it: installed in one side's environment, it is a
package that differs between two locks, as a real regression would be. The wheel is
written with the standard library (zipfile), pure Python, for any interpreter.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from segtasks.envs.lock import Lock, Package, normalize
from segtasks.envs.wheels import write_wheel
from segtasks.errors import UsageError

NAME = "segbench-planted-slowdown"
MODULE = "segbench_planted_slowdown"
_SOURCE = Path(__file__).with_name("planted_module.py")
_WHEEL_NAME = re.compile(rf"^{MODULE}-(?P<version>[^-]+)-py3-none-any\.whl$")


def version_for(percent: float) -> str:
    """The version that says the slowdown: "5.0" for 5 %, "2.5" for 2.5 %."""
    if not math.isfinite(percent) or percent < 0:
        raise UsageError(f"a planted slowdown is a percentage of at least 0, not {percent}")
    return str(float(percent))


def planted_slowdown_wheel(percent: float, folder: Path) -> Path:
    """Write the wheel of `segbench-planted-slowdown` (version `version_for(percent)`) into
    `folder` and return its path. The same percentage gives the same bytes."""
    version = version_for(percent)
    module = _SOURCE.read_text().replace("PERCENT = 0.0", f"PERCENT = {float(percent)!r}", 1)
    return write_wheel(folder, NAME, version, {
        f"{MODULE}/__init__.py": module,
        # run by site at start-up: registers an import hook and imports nothing else
        f"{MODULE}.pth": f"import {MODULE}; {MODULE}.install()\n",
    }, summary=f"segbench's planted regression: UnetPlusPlus forwards {version} % slower")


def lock_with(base: Lock, wheel: Path) -> Lock:
    """`base` plus the planted package from `wheel` (in place of any it had)."""
    found = _WHEEL_NAME.match(wheel.name)
    if found is None:
        raise UsageError(f"{wheel} is not a wheel of {NAME} (segtasks.envs.planted)")
    planted = Package(NAME, found["version"], source=wheel.resolve().as_uri())
    return Lock(python_version=base.python_version,
                packages=(*(p for p in base.packages if p.name != normalize(NAME)), planted),
                code_revision=base.code_revision)
