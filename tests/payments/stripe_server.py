"""A loopback HTTP server speaking the part of Stripe's API the payments provider uses.

POST /v1/payment_intents, /v1/transfers, /v1/refunds with form-encoded bodies, Bearer auth and
Stripe's idempotency rules: the same ``Idempotency-Key`` with the same parameters replays the
first response; with other parameters it is a 400 ``idempotency_error``. Behaviour by value:
payment method ``pm_card_chargeDeclined`` -> 402 card_error; destination ``acct_invalid`` -> 400
account_invalid; ``fail_next`` > 0 -> that many 500s before execution (not cached, as Stripe).
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.support.servers import free_port


class StripeState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every request, replays included
        self.responses: dict[str, tuple[str, int, dict[str, Any]]] = {}  # key -> (params digest, status, body)
        self.objects: dict[str, list[dict[str, Any]]] = {"payment_intents": [], "transfers": [], "refunds": []}
        self.fail_next = 0

    def executed(self, kind: str) -> list[dict[str, Any]]:
        return list(self.objects[kind])


def _error(status: int, kind: str, code: str, message: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": kind, "code": code, "message": message, **extra}}


class Handler(BaseHTTPRequestHandler):
    server: StripeServer  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        pass

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        params = dict(parse_qsl(self.rfile.read(length).decode()))
        key = self.headers.get("Idempotency-Key") or ""
        resource = self.path.removeprefix("/v1/").split("?")[0]
        with state.lock:
            state.requests.append({"path": self.path, "idempotency_key": key, "params": params})
            if self.headers.get("Authorization", "") != f"Bearer {self.server.api_key}":
                return self._send(*_error(401, "invalid_request_error", "api_key_invalid", "Invalid API Key"))
            if state.fail_next > 0:
                state.fail_next -= 1
                return self._send(*_error(500, "api_error", "internal", "simulated outage"))
            digest = hashlib.sha256(json.dumps([resource, sorted(params.items())]).encode()).hexdigest()
            if key and key in state.responses:
                first_digest, status, body = state.responses[key]
                if first_digest != digest:
                    return self._send(
                        *_error(
                            400,
                            "idempotency_error",
                            "idempotency_key_in_use",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        )
                    )
                return self._send(status, body, replayed=True)
            status, body = self._execute(resource, params, key)
            if key:
                state.responses[key] = (digest, status, body)
            self._send(status, body)

    def _execute(self, resource: str, params: dict[str, str], key: str) -> tuple[int, dict[str, Any]]:
        state = self.server.state
        number = sum(len(v) for v in state.objects.values()) + 1
        amount, currency = int(params.get("amount", "0")), params.get("currency", "")
        if resource == "payment_intents":
            if params.get("payment_method") == "pm_card_chargeDeclined":
                return _error(
                    402, "card_error", "card_declined", "Your card was declined.", decline_code="generic_decline"
                )
            intent = {
                "id": f"pi_{number:08d}",
                "object": "payment_intent",
                "amount": amount,
                "currency": currency,
                "status": "succeeded",
                "idempotency_key": key,
            }
            state.objects["payment_intents"].append(intent)
            return 200, intent
        if resource == "transfers":
            if params.get("destination") == "acct_invalid":
                return _error(400, "invalid_request_error", "account_invalid", "No such destination.")
            transfer = {
                "id": f"tr_{number:08d}",
                "object": "transfer",
                "amount": amount,
                "currency": currency,
                "destination": params.get("destination"),
                "idempotency_key": key,
            }
            state.objects["transfers"].append(transfer)
            return 200, transfer
        if resource == "refunds":
            intent = next(
                (i for i in state.objects["payment_intents"] if i["id"] == params.get("payment_intent")), None
            )
            if intent is None:
                return _error(400, "invalid_request_error", "resource_missing", "No such payment_intent.")
            refunded = sum(r["amount"] for r in state.objects["refunds"] if r["payment_intent"] == intent["id"])
            if refunded + amount > intent["amount"]:
                return _error(400, "invalid_request_error", "amount_too_large", "Refund exceeds the charge.")
            refund = {
                "id": f"re_{number:08d}",
                "object": "refund",
                "amount": amount,
                "payment_intent": intent["id"],
                "currency": intent["currency"],
                "status": "succeeded",
                "idempotency_key": key,
            }
            state.objects["refunds"].append(refund)
            return 200, refund
        return _error(404, "invalid_request_error", "resource_missing", f"Unrecognized request URL {self.path}")

    def _send(self, status: int, body: dict[str, Any], replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{id(body)}")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)


class StripeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api_key: str = "sk_test_loopback") -> None:
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.api_key = api_key
        self.state = StripeState()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> StripeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
