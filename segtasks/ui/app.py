"""The FastAPI app: HTML pages, the JSON API under /api, the curation actions, and the
static files (uPlot, shipped in the package), every route behind an `Access` dependency.

Pages read through a read-only engine (segtasks.ui.engines); actions write through the
store's engine and record the viewer's name. No route builds SQL from request strings:
ids are validated and passed as bound parameters (segtasks.ui.queries).

No `from __future__ import annotations` here: FastAPI reads the routes' annotations, which
name dependencies defined inside `build_app`.
"""


import re
import time
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.trustedhost import TrustedHostMiddleware

from segtasks import store
from segtasks.plan.case import CASE_KEY_PATTERN
from segtasks.store import repository
from segtasks.store.database import masked
from segtasks.ui import engines, pages, queries
from segtasks.ui.access import Access, Viewer
from segtasks.ui.columns import VERDICT_TONES
from segtasks.ui.links import Links
from segtasks.ui.settings import UiSettings

# Airflow's default `allowed_run_id_pattern`, which also covers `segbench run`'s ids.
RUN_ID_PATTERN = r"^[A-Za-z0-9_.~:+-]{1,250}$"
DAG_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"
MAX_REASON = 500
STATIC = {  # the only files served, by name: no path ever reaches the file system
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
    "charts.js": "text/javascript",
    "segbench.css": "text/css",
}
DONE = {  # what an action's redirect may announce; never text from the request
    "excluded": "The night is excluded from baselines; the reason and your name are stored.",
    "included": "The night counts in baselines again.",
    "accepted": "The new baseline level is stored: earlier nights no longer count as this "
                "series' baseline.",
    "undone": "The baseline level is undone: earlier nights count again.",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'self'; base-uri 'none'")

CaseKey = Annotated[str, Path(pattern=CASE_KEY_PATTERN, max_length=64)]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN)]
DagId = Annotated[str, Path(pattern=DAG_ID_PATTERN)]
RunPk = Annotated[int, Path(ge=1, le=2**31 - 1)]
Hardware = Annotated[str | None, Query(max_length=250)]
OptionalRunPk = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("segtasks.ui", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["pct"] = lambda v: "-" if v is None else f"{v:+.1%}"
    env.globals["tones"] = VERDICT_TONES
    return env


def _static_files() -> dict[str, bytes]:
    folder = resources.files("segtasks.ui") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC}


def build_app(config: Callable[[], UiSettings], access: Access, *,
              allowed_hosts: Sequence[str] | None = None) -> FastAPI:
    """The app. `config` gives the settings when first needed (inside Airflow they come
    from its connections); `allowed_hosts` (for `segbench serve`) refuses other Host
    headers, so a web page cannot reach a local server through DNS rebinding."""
    app = FastAPI(title="segbench", docs_url=None, redoc_url=None, openapi_url=None)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    templates = _templates()
    static = _static_files()

    Reader = Annotated[Viewer, Depends(access.reader())]
    DagReader = Annotated[Viewer, Depends(access.dag_reader())]
    Editor = Annotated[Viewer, Depends(access.editor())]

    @app.middleware("http")
    async def headers(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = \
            f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def links(request: Request) -> Links:
        return Links(root=request.scope.get("root_path", "").rstrip("/"),
                     airflow=config().airflow_url)

    def context(request: Request, viewer: Viewer) -> pages.PageContext:
        settings = config()
        return pages.PageContext(engines.reader(settings.reader_url), links(request),
                                 masked(settings.reader_url), viewer, settings.dag_id)

    def render(request: Request, viewer: Viewer, template: str, data: dict[str, Any],
               status_code: int = 200) -> HTMLResponse:
        page = templates.get_template(template).render(
            data=data, viewer=viewer, links=links(request), settings=config(),
            done=DONE.get(request.query_params.get("done", "")))
        return HTMLResponse(page, status_code=status_code)

    def notice(request: Request, viewer: Viewer, title: str, text: str,
               status_code: int = 200) -> HTMLResponse:
        return render(request, viewer, "notice.html", {"title": title, "text": text},
                      status_code)

    def json(data: dict[str, Any]) -> JSONResponse:
        return JSONResponse(jsonable_encoder(data))

    def not_segbench(request: Request, viewer: Viewer, dag_id: str) -> HTMLResponse:
        return notice(request, viewer, "No benchmark results here",
                      f"segbench's pages follow the DAG {config().dag_id}; the DAG {dag_id} "
                      "is not a segbench DAG, so there is nothing to show on this tab.")

    def stored_run(request: Request, viewer: Viewer, dag_id: str, run_id: str) -> Any:
        return queries.run_by_ids(context(request, viewer).engine, dag_id, run_id)

    # --- errors: one line, in the page's language (HTML or JSON) ---
    def failure(request: Request, status_code: int, message: str) -> Response:
        if request.url.path.startswith(f"{links(request).root}/api/"):
            return JSONResponse({"detail": message}, status_code=status_code)
        return HTMLResponse(templates.get_template("notice.html").render(
            data={"title": "segbench", "text": message}, viewer=None, links=links(request),
            settings=config(), done=None), status_code=status_code)

    @app.exception_handler(queries.NotFound)
    async def not_found(request: Request, exc: queries.NotFound) -> Response:
        return failure(request, 404, str(exc))

    @app.exception_handler(store.StoreUnavailable)
    @app.exception_handler(store.SchemaOutdated)
    async def unavailable(request: Request, exc: Exception) -> Response:
        return failure(request, 503, str(exc))

    # --- pages ---
    @app.get("/", response_class=HTMLResponse)
    def overview_page(request: Request, viewer: Reader,
                      offset: Annotated[int, Query(ge=0, le=10**6)] = 0) -> HTMLResponse:
        return render(request, viewer, "overview.html",
                      pages.overview(context(request, viewer), offset=offset))

    @app.get("/dags/{dag_id}", response_class=HTMLResponse)
    def dag_page(request: Request, viewer: DagReader, dag_id: DagId,
                 offset: Annotated[int, Query(ge=0, le=10**6)] = 0) -> HTMLResponse:
        if dag_id != config().dag_id:
            return not_segbench(request, viewer, dag_id)
        return render(request, viewer, "overview.html",
                      pages.overview(context(request, viewer), offset=offset))

    @app.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse)
    def dag_run_page(request: Request, viewer: DagReader, dag_id: DagId,
                     run_id: RunId) -> HTMLResponse:
        if dag_id != config().dag_id:
            return not_segbench(request, viewer, dag_id)
        run = stored_run(request, viewer, dag_id, run_id)
        if run is None:
            return notice(request, viewer, "No results for this run yet",
                          f"The results database has no run {run_id} of {dag_id}: its "
                          "open_run task has not stored it (yet), or it wrote to another "
                          "database.", 404)
        return render(request, viewer, "run.html", pages.run_page(context(request, viewer), run))

    @app.get("/runs/{run_pk}", response_class=HTMLResponse)
    def run_page(request: Request, viewer: Reader, run_pk: RunPk) -> HTMLResponse:
        ctx = context(request, viewer)
        return render(request, viewer, "run.html",
                      pages.run_page(ctx, queries.run_by_pk(ctx.engine, run_pk)))

    @app.get("/series/{case_key}", response_class=HTMLResponse)
    def series_page(request: Request, viewer: Reader, case_key: CaseKey,
                    hardware: Hardware = None, all: bool = False) -> HTMLResponse:
        return render(request, viewer, "series.html", pages.series_page(
            context(request, viewer), case_key, hardware, all_nights=all))

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, viewer: Reader, a: OptionalRunPk = None,
                     b: OptionalRunPk = None) -> HTMLResponse:
        return render(request, viewer, "compare.html",
                      pages.compare_page(context(request, viewer), a, b))

    @app.get("/static/{name}")
    def static_file(viewer: Reader, name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "Not Found")
        return Response(static[name], media_type=STATIC[name],
                        headers={"Cache-Control": "private, max-age=86400"})

    # --- the JSON API: the pages' data ---
    @app.get("/api/overview")
    def api_overview(request: Request, viewer: Reader,
                     offset: Annotated[int, Query(ge=0, le=10**6)] = 0) -> JSONResponse:
        return json(pages.overview(context(request, viewer), offset=offset))

    @app.get("/api/runs/{run_pk}")
    def api_run(request: Request, viewer: Reader, run_pk: RunPk) -> JSONResponse:
        ctx = context(request, viewer)
        return json(pages.run_page(ctx, queries.run_by_pk(ctx.engine, run_pk)))

    @app.get("/api/dags/{dag_id}/runs/{run_id}")
    def api_dag_run(request: Request, viewer: DagReader, dag_id: DagId,
                    run_id: RunId) -> JSONResponse:
        run = stored_run(request, viewer, dag_id, run_id) if dag_id == config().dag_id \
            else None
        if run is None:
            raise queries.NotFound(f"no stored results for run {run_id} of DAG {dag_id}")
        return json(pages.run_page(context(request, viewer), run))

    @app.get("/api/series/{case_key}")
    def api_series(request: Request, viewer: Reader, case_key: CaseKey,
                   hardware: Hardware = None) -> JSONResponse:
        data = pages.series_page(context(request, viewer), case_key, hardware)
        return json({k: v for k, v in data.items() if k != "nights_table"})

    @app.get("/api/compare")
    def api_compare(request: Request, viewer: Reader, a: OptionalRunPk = None,
                    b: OptionalRunPk = None) -> JSONResponse:
        return json(pages.compare_page(context(request, viewer), a, b))

    # --- actions: plain forms (Airflow's iframe sandbox allows no dialogs or pop-ups) ---
    def same_site(request: Request) -> None:
        """Refuse a form posted from another site (browsers always send Origin then)."""
        origin = request.headers.get("origin")
        if origin is None:
            return  # not a browser form: scripts with a token
        host = request.headers.get("x-forwarded-host") or request.headers.get("host")
        if origin == "null" or urlsplit(origin).netloc != host:
            raise HTTPException(403, "cross-site form post refused")

    def series_of(request: Request, case_key: str, hardware_key: str) -> None:
        if not re.match(CASE_KEY_PATTERN, case_key) or not 0 < len(hardware_key) <= 250:
            raise HTTPException(400, "bad case key or hardware key")

    def back(request: Request, case_key: str, hardware_key: str, done: str) -> Response:
        return RedirectResponse(links(request).series(case_key, hardware_key, done),
                                status_code=303)

    def measured(request: Request, viewer: Viewer, run_pk: int, case_key: str,
                 hardware_key: str) -> Any:
        """The run, if it measured this series: an action names a night of the page."""
        ctx = context(request, viewer)
        run = queries.run_by_pk(ctx.engine, run_pk)
        if not any(r.case_key == case_key and r.hardware_key == hardware_key
                   for r in queries.results_of(ctx.engine, [run_pk])):
            raise queries.NotFound(f"run {run_pk} did not measure {case_key} on {hardware_key}")
        return run

    Text = Annotated[str, Form(min_length=1, max_length=MAX_REASON)]
    FormCase = Annotated[str, Form(max_length=64)]
    FormHardware = Annotated[str, Form(max_length=250)]
    FormRun = Annotated[int, Form(ge=1, le=2**31 - 1)]

    @app.post("/actions/exclude")
    def exclude(request: Request, viewer: Editor, run: FormRun, reason: Text,
                case_key: FormCase, hardware_key: FormHardware) -> Response:
        same_site(request)
        series_of(request, case_key, hardware_key)
        found = measured(request, viewer, run, case_key, hardware_key)
        repository.set_excluded(engines.writer(config().writer_url), found.id, True,
                                reason.strip(), by=viewer.name)
        return back(request, case_key, hardware_key, "excluded")

    @app.post("/actions/include")
    def include(request: Request, viewer: Editor, run: FormRun, case_key: FormCase,
                hardware_key: FormHardware) -> Response:
        same_site(request)
        series_of(request, case_key, hardware_key)
        found = measured(request, viewer, run, case_key, hardware_key)
        repository.set_excluded(engines.writer(config().writer_url), found.id, False, None,
                                by=viewer.name)
        return back(request, case_key, hardware_key, "included")

    @app.post("/actions/accept-level")
    def accept_level(request: Request, viewer: Editor, run: FormRun, reason: Text,
                     case_key: FormCase, hardware_key: FormHardware) -> Response:
        same_site(request)
        series_of(request, case_key, hardware_key)
        found = measured(request, viewer, run, case_key, hardware_key)
        repository.accept_level(engines.writer(config().writer_url), case_key=case_key,
                                hardware_key=hardware_key, from_run=found,
                                reason=reason.strip(), by=viewer.name)
        return back(request, case_key, hardware_key, "accepted")

    @app.post("/actions/undo-level")
    def undo_level(request: Request, viewer: Editor,
                   level: Annotated[int, Form(ge=1, le=2**31 - 1)], case_key: FormCase,
                   hardware_key: FormHardware) -> Response:
        same_site(request)
        series_of(request, case_key, hardware_key)
        ctx = context(request, viewer)
        if not any(lv.id == level for lv in queries.levels(
                ctx.engine, case_key=case_key, hardware_key=hardware_key)):
            raise queries.NotFound(f"no active baseline level {level} of {case_key}")
        try:
            repository.undo_level(engines.writer(config().writer_url), level, by=viewer.name)
        except LookupError as exc:  # undone by someone else a moment ago
            raise queries.NotFound(str(exc)) from None
        return back(request, case_key, hardware_key, "undone")

    return app
