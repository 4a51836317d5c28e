"""A loopback HTTP server speaking Cloudinary's Upload API (upload and destroy).

It checks what Cloudinary checks: the API key, a timestamp within the hour and the SHA-1
signature of the sorted parameters plus the secret. It keeps what was uploaded, answers with
Cloudinary's JSON shape (``secure_url`` and friends) and can be told to refuse uploads after a
number of successes, to test a delivery that fails part-way.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UNSIGNED = {"file", "cloud_name", "resource_type", "api_key", "signature"}


class CloudinaryServer:
    def __init__(self, cloud_name: str = "odyssey-test", api_key: str = "123456", api_secret: str = "s3cr3t") -> None:
        self.cloud_name, self.api_key, self.api_secret = cloud_name, api_key, api_secret
        self.resources: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.refuse_uploads_after: int | None = None
        self.unavailable = False  # answer every upload with HTTP 500, as during an outage
        self.uploads = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status, answer = server.handle(self.path, self.headers.get("Content-Type", ""), body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            "CLOUDINARY_CLOUD_NAME": self.cloud_name,
            "CLOUDINARY_API_KEY": self.api_key,
            "CLOUDINARY_API_SECRET": self.api_secret,
            "CLOUDINARY_API_BASE": self.base,
        }

    def start(self) -> CloudinaryServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the API ------------------------------------------------------------------------------

    def _fields(self, content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
            fields: dict[str, str] = {}
            file_data = None
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if name == "file":
                    file_data = data
                else:
                    fields[str(name)] = data.decode()
            return fields, file_data
        from urllib.parse import parse_qsl

        return dict(parse_qsl(body.decode())), None

    def expected_signature(self, fields: dict[str, str]) -> str:
        signed = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k not in UNSIGNED and v != "")
        return hashlib.sha1((signed + self.api_secret).encode()).hexdigest()

    def handle(self, path: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "v1_1" or parts[1] != self.cloud_name:
            return 404, {"error": {"message": f"unknown path {path}"}}
        resource_type, action = parts[2], parts[3]
        fields, file_data = self._fields(content_type, body)
        with self.lock:
            self.requests.append((action, fields))
            if fields.get("api_key") != self.api_key:
                return 401, {"error": {"message": "Invalid api_key"}}
            if abs(time.time() - int(fields.get("timestamp", "0"))) > 3600:
                return 400, {"error": {"message": "Stale request - reported time is more than 1 hour ago"}}
            if fields.get("signature") != self.expected_signature(fields):
                return 401, {"error": {"message": "Invalid Signature"}}
            public_id = fields.get("public_id", "")
            if action == "destroy":
                found = self.resources.pop((resource_type, public_id), None)
                return 200, {"result": "ok" if found is not None else "not found"}
            if action != "upload" or file_data is None:
                return 400, {"error": {"message": "Missing required parameter - file"}}
            if self.unavailable:
                return 500, {"error": {"message": "Internal server error"}}
            if self.refuse_uploads_after is not None and self.uploads >= self.refuse_uploads_after:
                return 400, {"error": {"message": "Invalid image file"}}
            self.uploads += 1
            self.resources[(resource_type, public_id)] = file_data
            return 200, self._answer(resource_type, public_id, file_data)

    def _answer(self, resource_type: str, public_id: str, data: bytes) -> dict[str, Any]:
        version = int(time.time())
        fmt = public_id.rsplit("_", 1)[-1] if resource_type != "raw" else ""
        path = f"{self.cloud_name}/{resource_type}/upload/v{version}/{public_id}" + (f".{fmt}" if fmt else "")
        return {
            "asset_id": uuid.uuid4().hex,
            "public_id": public_id,
            "version": version,
            "version_id": uuid.uuid4().hex,
            "signature": hashlib.sha1(f"public_id={public_id}&version={version}{self.api_secret}".encode()).hexdigest(),
            "format": fmt,
            "resource_type": resource_type,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tags": [],
            "bytes": len(data),
            "type": "upload",
            "etag": hashlib.md5(data).hexdigest(),
            "placeholder": False,
            "url": f"http://res.cloudinary.com/{path}",
            "secure_url": f"https://res.cloudinary.com/{path}",
            "original_filename": "file",
        }
