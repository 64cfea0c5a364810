"""Where a run's report is written, and writing it (Markdown and HTML side by side)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy.engine import make_url

from segtasks import paths
from segtasks.errors import SegbenchError
from segtasks.report.html import render_html
from segtasks.report.markdown import render_markdown
from segtasks.report.model import RunReport


class ReportNotWritten(SegbenchError, RuntimeError):
    """The report's folder or file cannot be written (read-only, full, not a folder)."""


def database_folder_name(masked_url: str) -> str:
    """A folder name per results database: run ids are only unique inside one database, so
    the test suite, a PostgreSQL night and the SQLite default must not share `run-1`.

    Dialect and database name keep it readable; a digest of the whole (password-less) URL
    keeps two servers with a database of the same name apart.
    """
    digest = hashlib.sha256(masked_url.encode()).hexdigest()[:8]
    try:
        url = make_url(masked_url)
        dialect, name = url.get_backend_name(), url.database or "memory"
    except Exception:  # noqa: BLE001 - an odd URL still gets a folder of its own
        dialect, name = "db", "unknown"
    if dialect == "sqlite":
        name = Path(name).stem or "memory"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{dialect}-{name}")
    return f"{safe}-{digest}"


def default_folder(run_pk: int, masked_url: str) -> Path:
    return paths.var_dir() / "reports" / database_folder_name(masked_url) / f"run-{run_pk}"


def write(report: RunReport, folder: Path) -> Path:
    """report.md and report.html (self-contained, with plots) in `folder`; the HTML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(render_markdown(report))
    html_path = folder / "report.html"
    html_path.write_text(render_html(report))
    return html_path
