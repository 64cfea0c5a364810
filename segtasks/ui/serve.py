"""`segbench serve`: the pages without Airflow, for users who only have the database.

There is no login without Airflow, so the server is for the people on this machine: it
binds to 127.0.0.1 by default and answers only to the host names it was started with
(a web page cannot reach it through DNS rebinding). Anyone who reaches the port may
read; the actions are off unless `--allow-edits` is given, and then they are recorded
under `--user` (default: the login name). Edits are refused together with a non-local
`--host`: that would let anyone on the network change baselines without a login.
"""

from __future__ import annotations

import getpass
import ipaddress
import logging

from segtasks.errors import UsageError
from segtasks.ui.access import LocalAccess
from segtasks.ui.app import build_app
from segtasks.ui.settings import standalone

log = logging.getLogger(__name__)
LOCAL_NAMES = ("localhost",)


def is_local(host: str) -> bool:
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> list[str]:
    if host in ("0.0.0.0", "::"):
        return ["*"]  # every interface: the user asked for the network explicitly
    return sorted({host, "127.0.0.1", "localhost", "::1", "[::1]"})


def make_app(url: str | None, *, host: str, allow_edits: bool, user: str | None):  # type: ignore[no-untyped-def]
    if allow_edits and not is_local(host):
        raise UsageError(f"--allow-edits needs a local --host (127.0.0.1, localhost): on "
                         f"{host} anyone who reaches the port could change baselines, and "
                         "there is no login without Airflow")
    access = LocalAccess(user or getpass.getuser(), allow_edits=allow_edits)
    settings = standalone(url)
    return build_app(lambda: settings, access, allowed_hosts=allowed_hosts(host))


def _can_listen(host: str, port: int) -> None:
    """A UsageError naming the address when it cannot be listened on (port out of range,
    taken, an address not of this host); uvicorn would print its own line and exit 3, or
    for a port out of range wait forever."""
    import socket

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port (1 to 65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise UsageError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def serve(url: str | None, *, host: str, port: int, allow_edits: bool,
          user: str | None) -> None:
    import uvicorn

    app = make_app(url, host=host, allow_edits=allow_edits, user=user)
    _can_listen(host, port)
    if not is_local(host):
        log.warning("segbench serve on %s: anyone who can reach port %d reads the results "
                    "(there is no login without Airflow)", host, port)
    print(f"segbench pages on http://{'localhost' if is_local(host) else host}:{port}/ "
          f"({'edits allowed' if allow_edits else 'read only'})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
