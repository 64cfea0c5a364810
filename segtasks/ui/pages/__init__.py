"""The data of every page as plain values: the HTML templates render them and the JSON
API returns them as they are. Figures come from the report's code (segtasks.report) and
the stored verdicts; nothing here re-derives a measurement."""

from segtasks.ui.pages.common import PageContext
from segtasks.ui.pages.compare import compare_page
from segtasks.ui.pages.overview import overview
from segtasks.ui.pages.run import run_page
from segtasks.ui.pages.series import band, series_page

__all__ = ["PageContext", "band", "compare_page", "overview", "run_page", "series_page"]
