"""The FastAPI app of the results pages: HTML pages, the JSON API under /api, the curation
actions and the static files (uPlot, shipped in the package), every route behind an
`Access` dependency.

Pages read through a read-only engine (segtasks.ui.engines); actions write through the
store's engine and record the viewer's name. No route builds SQL from request strings:
ids are validated and passed as bound parameters (segtasks.ui.queries).

No `from __future__ import annotations` here or in routes/actions: FastAPI reads the
routes' annotations, which name dependencies made inside `build_app`.
"""

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from segtasks import store
from segtasks.store import browse as queries
from segtasks.ui.access import Access, Viewer
from segtasks.ui.actions import add_actions
from segtasks.ui.rendering import Site
from segtasks.ui.routes import add_reading_routes
from segtasks.ui.settings import UiSettings

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'self'; base-uri 'none'")


def build_app(config: Callable[[], UiSettings], access: Access, *,
              allowed_hosts: Sequence[str] | None = None) -> FastAPI:
    """The app. `config` gives the settings when first needed (inside Airflow they come
    from its connections); `allowed_hosts` (for `segbench serve`) refuses other Host
    headers, so a web page cannot reach a local server through DNS rebinding."""
    # no /docs or /openapi.json: every route needs the access rules, those would not
    app = FastAPI(title="segbench", docs_url=None, redoc_url=None, openapi_url=None)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    site = Site(config)

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

    @app.exception_handler(queries.NotFound)
    async def not_found(request: Request, exc: queries.NotFound) -> Response:
        return site.failure(request, 404, str(exc))

    @app.exception_handler(store.StoreUnavailable)
    @app.exception_handler(store.SchemaOutdated)
    async def unavailable(request: Request, exc: Exception) -> Response:
        return site.failure(request, 503, str(exc))

    add_reading_routes(app, site, Reader=Annotated[Viewer, Depends(access.reader())],
                       DagReader=Annotated[Viewer, Depends(access.dag_reader())])
    add_actions(app, site, Editor=Annotated[Viewer, Depends(access.editor())])
    return app
