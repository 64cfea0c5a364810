"""One report value per run (segtasks.report.model), rendered as Markdown, CSV or HTML."""
