"""What every route uses to answer: the page's links and data context, HTML from the
templates, JSON, and one-line failures in the language of the route (HTML or JSON)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from segtasks.store.database import masked
from segtasks.ui import engines
from segtasks.ui.access import Viewer
from segtasks.ui.columns import VERDICT_TONES, verdict_badges, verdict_words
from segtasks.ui.links import Links
from segtasks.ui.pages import PageContext
from segtasks.ui.settings import UiSettings

STATIC = {  # the only files served, by name: no path ever reaches the file system
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
    "charts.js": "text/javascript",
    "segbench.css": "text/css",
    "attention.css": "text/css",  # the overview's "Needs attention" and progress
}
DONE = {  # what an action's redirect may announce; never text from the request
    "excluded": "The night is excluded from baselines; the reason and your name are stored.",
    "included": "The night counts in baselines again.",
    "accepted": "The new baseline level is stored: earlier nights no longer count as this "
                "series' baseline.",
    "undone": "The baseline level is undone: earlier nights count again.",
}


def templates() -> Environment:
    env = Environment(loader=PackageLoader("segtasks.ui", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["pct"] = lambda v: "-" if v is None else f"{v:+.1%}"
    env.filters["words"] = verdict_words  # a verdict as the pages say it
    env.globals["tones"] = VERDICT_TONES
    env.globals["verdict_badges"] = verdict_badges
    return env


def static_files() -> dict[str, bytes]:
    folder = resources.files("segtasks.ui") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC}


class Site:
    def __init__(self, config: Callable[[], UiSettings]) -> None:
        self.config = config
        self.templates = templates()
        self.static = static_files()

    def links(self, request: Request) -> Links:
        # the mount point: "/segbench" inside Airflow's api-server, "" alone
        return Links(root=request.scope.get("root_path", "").rstrip("/"),
                     airflow=self.config().airflow_url)

    def context(self, request: Request, viewer: Viewer) -> PageContext:
        settings = self.config()
        return PageContext(engines.reader(settings.reader_url), self.links(request),
                           masked(settings.reader_url), viewer, settings.dag_id)

    def _html(self, request: Request, viewer: Viewer | None, template: str,
              data: dict[str, Any], status_code: int) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            data=data, viewer=viewer, links=self.links(request), settings=self.config(),
            done=DONE.get(request.query_params.get("done", "")))
        return HTMLResponse(page, status_code=status_code)

    def render(self, request: Request, viewer: Viewer, template: str, data: dict[str, Any],
               status_code: int = 200) -> HTMLResponse:
        return self._html(request, viewer, template, data, status_code)

    def notice(self, request: Request, viewer: Viewer | None, title: str, text: str,
               status_code: int = 200) -> HTMLResponse:
        return self._html(request, viewer, "notice.html", {"title": title, "text": text},
                          status_code)

    @staticmethod
    def json(data: dict[str, Any]) -> JSONResponse:
        return JSONResponse(jsonable_encoder(data))

    def failure(self, request: Request, status_code: int, message: str) -> Response:
        if request.url.path.startswith(f"{self.links(request).root}/api/"):
            return JSONResponse({"detail": message}, status_code=status_code)
        return self.notice(request, None, "segbench", message, status_code)
