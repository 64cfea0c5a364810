"""CPU package energy from RAPL (/sys/class/powercap), where the kernel lets us read it.

Intel, and AMD Zen through the same `intel-rapl` driver, expose one `intel-rapl:N`
zone per package (name `package-N`) with a cumulative `energy_uj` that wraps at
`max_energy_range_uj`. Since Linux 5.10 (CVE-2020-8694) `energy_uj` is readable by root
only unless an administrator opens it; virtual machines usually have no RAPL at all.
Where it cannot be read, the energy is None with the reason, never an estimate.

A package's energy is the whole socket's: other processes and idle cores included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True)
class Zone:
    path: Path
    max_range_uj: int


@dataclass(frozen=True)
class Reading:
    zones: tuple[Zone, ...]
    energy_uj: tuple[int, ...]


def package_zones(root: Path = POWERCAP) -> tuple[list[Zone], str | None]:
    """The package zones, or none and why."""
    if not root.is_dir():
        return [], f"no RAPL on this machine ({root} does not exist; usual in a VM)"
    zones = []
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:  # a subzone (core, uncore, dram) of a package
            continue
        try:
            if not (zone / "name").read_text().strip().startswith("package"):
                continue
            max_range = int((zone / "max_energy_range_uj").read_text())
        except (OSError, ValueError):
            continue
        zones.append(Zone(zone, max_range))
    if not zones:
        return [], f"no RAPL package zone under {root}"
    return zones, None


def start(root: Path = POWERCAP) -> tuple[Reading | None, str | None]:
    """A first reading of every package, or None and why it cannot be read."""
    zones, why = package_zones(root)
    if why:
        return None, why
    try:
        values = tuple(int((z.path / "energy_uj").read_text()) for z in zones)
    except PermissionError:
        return None, (f"RAPL energy is readable by root only here ({zones[0].path}/energy_uj; "
                      "since Linux 5.10): run as root or open the file to the worker's user")
    except (OSError, ValueError) as exc:
        return None, f"RAPL energy cannot be read: {exc}"
    return Reading(tuple(zones), values), None


def joules_since(first: Reading) -> tuple[float | None, str | None]:
    """Energy of every package since `first`, counter wrap-around included."""
    total_uj = 0
    try:
        for zone, before in zip(first.zones, first.energy_uj, strict=True):
            now = int((zone.path / "energy_uj").read_text())
            total_uj += now - before if now >= before else now + zone.max_range_uj - before
    except (OSError, ValueError) as exc:
        return None, f"RAPL energy cannot be read: {exc}"
    return total_uj / 1e6, None
