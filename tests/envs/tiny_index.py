"""A package index of tiny wheels, served over HTTP on localhost, that a test can take down
to play a registry out of reach (uv caches what it fetched per index URL, so the fallback
is only real when the same URL stops answering)."""

from __future__ import annotations

import functools
import html
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from segtasks.envs.lock import normalize
from segtasks.envs.wheels import write_wheel


def write_index(folder: Path, packages: dict[str, str]) -> Path:
    """A PEP 503 simple index under `folder` with one tiny pure wheel per name -> version;
    returns `folder`."""
    files = folder / "files"
    for name, version in packages.items():
        module = normalize(name).replace("-", "_")
        wheel = write_wheel(files, name, version, {f"{module}.py": f"VERSION = {version!r}\n"})
        page = folder / "simple" / normalize(name)
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(
            f'<html><body><a href="../../files/{html.escape(wheel.name)}">'
            f"{html.escape(wheel.name)}</a></body></html>\n")
    return folder


class _Quiet(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # uv must ask again each time, as it would once PyPI's 10 minutes are up: otherwise
        # it reuses a fresh cached page and never finds the registry gone
        self.send_header("Cache-Control", "max-age=0, must-revalidate")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


class ServedIndex:
    """`folder` served on 127.0.0.1 until `stop()`; `url` is its simple index."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/simple"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """The registry goes out of reach: nothing listens on its port any more."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
