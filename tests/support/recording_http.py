"""A loopback HTTP(S) server that records every request whole, for the differential SDK tests.

Each request is kept as method, path, query, headers (names lower-cased) and raw body;
``RecordedRequest.fields()`` parses the body by its content type (JSON, form-encoded or
multipart) so two clients' requests can be compared field by field. Every request is answered
by a per-server ``answer(request) -> Answer``, so a test can reply as the real API does.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def fields(self) -> Any:
        """The body as data: a JSON value, or ``{name: [values]}`` for form and multipart bodies."""
        if self.content_type == "application/json":
            return json.loads(self.body)
        if self.content_type == "application/x-www-form-urlencoded":
            return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=bool(self.body))
        if self.content_type == "multipart/form-data":
            return _multipart_fields(self.headers["content-type"], self.body)
        raise ValueError(f"request body has content type {self.content_type!r}: not JSON, form or multipart")


def _multipart_fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    # The stdlib's MIME parser reads multipart/form-data once it is given the boundary header.
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        raise ValueError("multipart/form-data body without parts (wrong or missing boundary)")
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("multipart part without a form field name")
        payload = part.get_payload(decode=True)
        value = payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
        fields.setdefault(name, []).append(value)
    return fields


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # sent as JSON unless None
    headers: dict[str, str] = field(default_factory=dict)


Answerer = Callable[[RecordedRequest], Answer]


class RecordingServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (TLS when given a context); a context manager."""

    def __init__(self, answer: Answerer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    def take(self) -> list[RecordedRequest]:
        """The requests recorded so far, in arrival order, and a fresh record."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
        return self.answer(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _handle(self) -> None:
                url = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=url.path,
                    query=parse_qs(url.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self._read_body(),
                )
                answer = server._record(request)
                body = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                headers = {"content-type": "application/json", **answer.headers} if body else answer.headers
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler
