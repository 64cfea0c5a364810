"""The curation actions: plain form posts (Airflow's frame sandbox allows no dialogs or
pop-ups), behind `Editor` (edit access to the governing DAG), written through the DAG's
own connection and recorded with the viewer's name; each redirects back to its series."""

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from segtasks.errors import SegbenchError
from segtasks.plan.case import CASE_KEY_PATTERN
from segtasks.store import browse as queries
from segtasks.store import repository
from segtasks.ui import engines
from segtasks.ui.access import Viewer
from segtasks.ui.rendering import Site

MAX_REASON = 500
Reason = Annotated[str, Form(min_length=1, max_length=MAX_REASON)]
FormCase = Annotated[str, Form(max_length=64)]
FormHardware = Annotated[str, Form(max_length=250)]
FormRun = Annotated[int, Form(ge=1, le=2**31 - 1)]
FormLevel = Annotated[int, Form(ge=1, le=2**31 - 1)]


def same_site(request: Request) -> None:
    """Refuse a form posted from another site (browsers always send Origin then)."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser form: a script with a token
    host = request.headers.get("x-forwarded-host") or request.headers.get("host")
    if origin == "null" or urlsplit(origin).netloc != host:
        raise HTTPException(403, "cross-site form post refused")


def add_actions(app: FastAPI, site: Site, Editor: Any) -> None:
    """`Editor` is Annotated[Viewer, Depends(...)] of the app's Access."""

    def checked(request: Request, case_key: str, hardware_key: str) -> None:
        same_site(request)
        if not re.match(CASE_KEY_PATTERN, case_key) or not 0 < len(hardware_key) <= 250:
            raise HTTPException(400, "bad case key or hardware key")

    def night_of_series(request: Request, viewer: Viewer, run_pk: int, case_key: str,
                        hardware_key: str) -> Any:
        """The run, if it measured this series: an action names a night of the page."""
        ctx = site.context(request, viewer)
        run = queries.run_by_pk(ctx.engine, run_pk)
        if not any(r.case_key == case_key and r.hardware_key == hardware_key
                   for r in queries.results_of(ctx.engine, [run_pk])):
            raise queries.NotFound(f"run {run_pk} did not measure {case_key} on "
                                   f"{hardware_key}")
        return run

    def back(request: Request, case_key: str, hardware_key: str, done: str) -> Response:
        return RedirectResponse(site.links(request).series(case_key, hardware_key, done),
                                status_code=303)

    def writer() -> Any:
        return engines.writer(site.config().writer_url)

    @app.post("/actions/exclude")
    def exclude(request: Request, viewer: Editor, run: FormRun, reason: Reason,
                case_key: FormCase, hardware_key: FormHardware) -> Response:
        checked(request, case_key, hardware_key)
        night = night_of_series(request, viewer, run, case_key, hardware_key)
        repository.set_excluded(writer(), night.id, True, reason.strip(), by=viewer.name)
        return back(request, case_key, hardware_key, "excluded")

    @app.post("/actions/include")
    def include(request: Request, viewer: Editor, run: FormRun, case_key: FormCase,
                hardware_key: FormHardware) -> Response:
        checked(request, case_key, hardware_key)
        night = night_of_series(request, viewer, run, case_key, hardware_key)
        repository.set_excluded(writer(), night.id, False, None, by=viewer.name)
        return back(request, case_key, hardware_key, "included")

    @app.post("/actions/accept-level")
    def accept_level(request: Request, viewer: Editor, run: FormRun, reason: Reason,
                     case_key: FormCase, hardware_key: FormHardware) -> Response:
        checked(request, case_key, hardware_key)
        night = night_of_series(request, viewer, run, case_key, hardware_key)
        repository.accept_level(writer(), case_key=case_key, hardware_key=hardware_key,
                                from_run=night, reason=reason.strip(), by=viewer.name)
        return back(request, case_key, hardware_key, "accepted")

    @app.post("/actions/undo-level")
    def undo_level(request: Request, viewer: Editor, level: FormLevel, case_key: FormCase,
                   hardware_key: FormHardware) -> Response:
        checked(request, case_key, hardware_key)
        active = queries.levels(site.context(request, viewer).engine, case_key=case_key,
                                hardware_key=hardware_key)
        if not any(lv.id == level for lv in active):
            raise queries.NotFound(f"no active baseline level {level} of {case_key}")
        try:
            repository.undo_level(writer(), level, by=viewer.name)
        except SegbenchError as exc:  # undone by someone else a moment ago
            raise queries.NotFound(str(exc)) from None
        return back(request, case_key, hardware_key, "undone")
