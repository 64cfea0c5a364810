"""Delivering an alert: a JSON POST to an http(s) webhook, or a mail through smtp(s).

Targets are URLs, as an Airflow connection's URI gives them:
- `https://hooks.example.com/segbench` (or http): the alert's JSON body is POSTed;
- `smtp://mail.example.com:25?to=team@example.com&from=segbench@example.com` (smtps: TLS
  from the start; `starttls=true` upgrades a plain connection; a user and password in the
  URL log in).
A target that cannot be reached raises AlertError with one line that says where and why.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage
from urllib.error import URLError
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from segtasks.alerts.message import Alert
from segtasks.errors import SegbenchError

TIMEOUT_S = 30


class AlertError(SegbenchError, RuntimeError):
    """The alert could not be delivered."""


def target_from_connection(uri: str) -> str:
    """The target an Airflow connection's URI stands for. Airflow keeps a URL's path as the
    connection's schema and writes it back percent-encoded (/hooks/segbench becomes
    /hooks%2Fsegbench), which a webhook would not recognise: decode the path again."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https"):
        return uri
    return urlunsplit(parts._replace(path=unquote(parts.path)))


def send(target: str, alert: Alert) -> None:
    scheme = urlsplit(target).scheme.lower()
    if scheme in ("http", "https"):
        _post(target, alert)
    elif scheme in ("smtp", "smtps"):
        _mail(target, alert)
    else:
        raise AlertError(f"unknown alert target {scheme or target!r}: expected an http(s) "
                         "webhook or an smtp(s):// mail server")


def _post(url: str, alert: Alert) -> None:
    body = json.dumps(alert.payload).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            response.read()
    except (URLError, OSError) as exc:
        raise AlertError(f"the alert webhook {_where(url)} failed: {exc}") from None


def _where(url: str) -> str:
    """The target without credentials or query, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def _mail(url: str, alert: Alert) -> None:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    recipients = [a.strip() for a in query.get("to", "").split(",") if a.strip()]
    if not recipients:
        raise AlertError(f"the alert mail target {_where(url)} names no recipient "
                         "(add ?to=someone@example.com)")
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = query.get("from", "segbench@localhost")
    message["To"] = ", ".join(recipients)
    message.set_content(alert.text)
    client = smtplib.SMTP_SSL if parts.scheme.lower() == "smtps" else smtplib.SMTP
    default_port = 465 if client is smtplib.SMTP_SSL else 25
    try:
        with client(parts.hostname or "localhost", parts.port or default_port,
                    timeout=TIMEOUT_S) as server:
            if query.get("starttls", "").lower() in ("1", "true", "yes"):
                server.starttls()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertError(f"the alert mail server {_where(url)} failed: {exc}") from None
