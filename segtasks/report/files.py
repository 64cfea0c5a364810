"""Where a run's report is written, and writing it (Markdown and HTML side by side)."""

from __future__ import annotations

from pathlib import Path

from segtasks import paths
from segtasks.report.html import render_html
from segtasks.report.markdown import render_markdown
from segtasks.report.model import RunReport


def default_folder(run_pk: int) -> Path:
    return paths.var_dir() / "reports" / f"run-{run_pk}"


def write(report: RunReport, folder: Path) -> Path:
    """report.md and report.html (self-contained, with plots) in `folder`; the HTML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(render_markdown(report))
    html_path = folder / "report.html"
    html_path.write_text(render_html(report))
    return html_path
