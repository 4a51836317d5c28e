"""Loopback servers that speak the providers' protocols, for the notification tests.

* ``HttpStub``: a threaded HTTP/1.1 server (optionally TLS) that records every request and answers
  through a per-test responder — used as Mailgun, SendGrid, FCM, Twilio, Discord, a Web Push
  service and webhook receivers.
* ``H2Stub``: a TLS HTTP/2 server (ALPN ``h2``) built on the ``h2`` library — the APNs stand-in.
* ``make_cert``: a self-signed certificate for 127.0.0.1/localhost, made with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        from urllib.parse import parse_qsl

        return parse_qsl(self.body.decode(), keep_blank_values=True)


Reply = tuple[int, dict[str, str], bytes]
Responder = Callable[[Request], Reply]


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for 127.0.0.1 and localhost; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


@dataclass
class HttpStub:
    responder: Responder = field(default=lambda request: (200, {}, b"{}"))
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)

    def start(self) -> HttpStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                stub.requests.append(request)
                status, headers, body = stub.responder(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class H2Stub:
    """A TLS HTTP/2-only server: each request gets ``responder(request)``. Records the ALPN used."""

    def __init__(self, tls: ssl.SSLContext, responder: Responder) -> None:
        self.tls = tls
        self.responder = responder
        self.requests: list[Request] = []
        self.protocols: list[str | None] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def start(self) -> H2Stub:
        self.sock.settimeout(0.1)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            conn = self.tls.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.protocols.append(conn.selected_alpn_protocol())
        h2conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        streams: dict[int, dict[str, Any]] = {}
        try:
            while not self._stop.is_set():
                data = conn.recv(65535)
                if not data:
                    break
                for event in h2conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": dict(event.headers), "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        stream = streams.pop(event.stream_id)
                        headers = stream["headers"]
                        request = Request(headers[":method"], headers[":path"], headers, stream["body"])
                        self.requests.append(request)
                        status, reply_headers, body = self.responder(request)
                        h2conn.send_headers(
                            event.stream_id,
                            [(":status", str(status)), ("content-length", str(len(body))), *reply_headers.items()],
                        )
                        h2conn.send_data(event.stream_id, body, end_stream=True)
                conn.sendall(h2conn.data_to_send())
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
