"""The pages, their JSON API and the static files: every route reads, behind `Reader`
(read access to the governing DAG) or `DagReader` (read access to the DAG in the path,
for Airflow's DAG and run tabs)."""

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from segtasks.plan.case import CASE_KEY_PATTERN
from segtasks.store import browse as queries
from segtasks.ui import pages
from segtasks.ui.access import Viewer
from segtasks.ui.rendering import STATIC, Site

# Airflow's default `allowed_run_id_pattern`, which also covers `segbench run`'s ids.
RUN_ID_PATTERN = r"^[A-Za-z0-9_.~:+-]{1,250}$"
DAG_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,250}$"

CaseKey = Annotated[str, Path(pattern=CASE_KEY_PATTERN, max_length=64)]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN)]
DagId = Annotated[str, Path(pattern=DAG_ID_PATTERN)]
RunPk = Annotated[int, Path(ge=1, le=2**31 - 1)]
Hardware = Annotated[str | None, Query(max_length=250)]
OptionalRunPk = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Offset = Annotated[int, Query(ge=0, le=10**6)]


def add_reading_routes(app: FastAPI, site: Site, Reader: Any, DagReader: Any) -> None:
    """`Reader` and `DagReader` are Annotated[Viewer, Depends(...)] of the app's Access."""

    def not_segbench(request: Request, viewer: Viewer, dag_id: str) -> HTMLResponse:
        return site.notice(request, viewer, "No benchmark results here",
                           f"segbench's pages follow the DAG {site.config().dag_id}; the DAG "
                           f"{dag_id} is not a segbench DAG, so there is nothing to show on "
                           "this tab.")

    def stored_run(request: Request, viewer: Viewer, dag_id: str, run_id: str) -> Any:
        if dag_id != site.config().dag_id:
            return None
        return queries.run_by_ids(site.context(request, viewer).engine, dag_id, run_id)

    # --- pages ---
    @app.get("/", response_class=HTMLResponse)
    def overview_page(request: Request, viewer: Reader, offset: Offset = 0) -> HTMLResponse:
        return site.render(request, viewer, "overview.html",
                           pages.overview(site.context(request, viewer), offset=offset))

    @app.get("/dags/{dag_id}", response_class=HTMLResponse)
    def dag_tab(request: Request, viewer: DagReader, dag_id: DagId,
                offset: Offset = 0) -> HTMLResponse:
        if dag_id != site.config().dag_id:
            return not_segbench(request, viewer, dag_id)
        return site.render(request, viewer, "overview.html",
                           pages.overview(site.context(request, viewer), offset=offset))

    @app.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse)
    def run_tab(request: Request, viewer: DagReader, dag_id: DagId,
                run_id: RunId) -> HTMLResponse:
        if dag_id != site.config().dag_id:
            return not_segbench(request, viewer, dag_id)
        run = stored_run(request, viewer, dag_id, run_id)
        if run is None:
            return site.notice(request, viewer, "No results for this run yet",
                               f"The results database has no run {run_id} of {dag_id}: its "
                               "open_run task has not stored it (yet), or it wrote to "
                               "another database.", 404)
        return site.render(request, viewer, "run.html",
                           pages.run_page(site.context(request, viewer), run))

    @app.get("/runs/{run_pk}", response_class=HTMLResponse)
    def run_page(request: Request, viewer: Reader, run_pk: RunPk) -> HTMLResponse:
        ctx = site.context(request, viewer)
        return site.render(request, viewer, "run.html",
                           pages.run_page(ctx, queries.run_by_pk(ctx.engine, run_pk)))

    @app.get("/series/{case_key}", response_class=HTMLResponse)
    def series_page(request: Request, viewer: Reader, case_key: CaseKey,
                    hardware: Hardware = None, all: bool = False) -> HTMLResponse:
        return site.render(request, viewer, "series.html", pages.series_page(
            site.context(request, viewer), case_key, hardware, all_nights=all))

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, viewer: Reader, a: OptionalRunPk = None,
                     b: OptionalRunPk = None) -> HTMLResponse:
        return site.render(request, viewer, "compare.html",
                           pages.compare_page(site.context(request, viewer), a, b))

    @app.get("/static/{name}")
    def static_file(viewer: Reader, name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "Not Found")
        return Response(site.static[name], media_type=STATIC[name],
                        headers={"Cache-Control": "private, max-age=86400"})

    # --- the JSON API: the pages' data ---
    @app.get("/api/overview")
    def api_overview(request: Request, viewer: Reader, offset: Offset = 0) -> JSONResponse:
        return site.json(pages.overview(site.context(request, viewer), offset=offset))

    @app.get("/api/runs/{run_pk}")
    def api_run(request: Request, viewer: Reader, run_pk: RunPk) -> JSONResponse:
        ctx = site.context(request, viewer)
        return site.json(pages.run_page(ctx, queries.run_by_pk(ctx.engine, run_pk)))

    @app.get("/api/dags/{dag_id}/runs/{run_id}")
    def api_dag_run(request: Request, viewer: DagReader, dag_id: DagId,
                    run_id: RunId) -> JSONResponse:
        run = stored_run(request, viewer, dag_id, run_id)
        if run is None:
            raise queries.NotFound(f"no stored results for run {run_id} of DAG {dag_id}")
        return site.json(pages.run_page(site.context(request, viewer), run))

    @app.get("/api/series/{case_key}")
    def api_series(request: Request, viewer: Reader, case_key: CaseKey,
                   hardware: Hardware = None) -> JSONResponse:
        data = pages.series_page(site.context(request, viewer), case_key, hardware)
        return site.json({k: v for k, v in data.items() if k != "nights_table"})

    @app.get("/api/compare")
    def api_compare(request: Request, viewer: Reader, a: OptionalRunPk = None,
                    b: OptionalRunPk = None) -> JSONResponse:
        return site.json(pages.compare_page(site.context(request, viewer), a, b))
