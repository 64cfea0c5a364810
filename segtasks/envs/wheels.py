"""Writing a pure-Python wheel with the standard library (zipfile): METADATA, WHEEL and a
RECORD of every file's hash, as installers check them."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(folder: Path, name: str, version: str, files: dict[str, str],
                summary: str = "", requires: Sequence[str] = ()) -> Path:
    """`folder`/<name>-<version>-py3-none-any.whl holding `files` (path in the wheel ->
    text) and its .dist-info; `requires`: its dependencies (Requires-Dist lines, e.g.
    "pkg-a>=2"); the same arguments give the same bytes."""
    stem = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}"
    dist_info = f"{stem}.dist-info"
    contents = {
        **files,
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                  + (f"Summary: {summary}\n" if summary else "")
                                  + "".join(f"Requires-Dist: {r}\n" for r in requires)),
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: segtasks.envs.wheels\n"
                               "Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    encoded = {path: text.encode() for path, text in contents.items()}
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n"
                     for path, data in encoded.items()) + f"{dist_info}/RECORD,,\n"
    encoded[f"{dist_info}/RECORD"] = record.encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in encoded.items():
            # a fixed date: the same wheel every time, so the same lock
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return wheel
