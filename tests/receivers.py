"""Local alert receivers a test starts and stops itself: an HTTP webhook (http.server in a
thread) and a minimal SMTP server (a socket in a thread, enough of RFC 5321 for
smtplib's send_message). Each keeps what it received."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def webhook(status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(URL, the JSON bodies POSTed to it so far)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                             "body": json.loads(self.rfile.read(length))})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/segbench", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[tuple[str, list[str], Message]]]]:
    """(port, the mails received: sender, recipients, parsed message)."""
    received: list[tuple[str, list[str], Message]] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        say = conn.sendall
        say(b"220 test SMTP\r\n")
        sender, recipients = "", []
        while line := stream.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say(b"250 test\r\n")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip(" <>")
                say(b"250 OK\r\n")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                say(b"250 OK\r\n")
            elif verb == "DATA":
                say(b"354 go on\r\n")
                data = b""
                while (chunk := stream.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                received.append((sender, recipients, message_from_bytes(data)))
                say(b"250 OK\r\n")
            elif verb == "QUIT":
                say(b"221 bye\r\n")
                break
            else:
                say(b"250 OK\r\n")
        conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            serve_one(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
