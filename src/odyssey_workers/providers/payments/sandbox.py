"""The local payment provider: no account, no network, behaviour chosen by the card or account token.

It keeps what a real processor keeps, durably, so retries and crashes behave as they would in
production: one record per idempotency key per operation (created atomically with ``link``, so
two processes racing on a key get one record), and a log of every request, replays included.

Tokens (card ``token`` for charges, ``destination`` for transfers):

* containing ``decline``   -> declined (charge) / failed (transfer), an outcome;
* containing ``transient``  -> ``ProviderUnavailableError`` every time;
* containing ``flaky``      -> ``ProviderUnavailableError`` the first time a key is seen, then normal;
* anything else (``tok_ok``, ``acct_ok``) -> succeeds.

``root=None`` keeps everything in memory (one process only: benchmarks and unit tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from odyssey_workers.providers.payments.base import (
    ChargeOutcome,
    PaymentProviderError,
    ProviderUnavailableError,
    RefundOutcome,
    TransferOutcome,
)

OPERATIONS = ("charge", "transfer", "refund")


class SandboxProvider:
    """A processor simulated on local files (or in memory)."""

    name = "sandbox"

    def __init__(self, root: Path | None = None, latency_ms: int = 0) -> None:
        self.root = root
        self.latency = latency_ms / 1000
        self._memory: dict[tuple[str, str], dict[str, Any]] = {}
        self._memory_log: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        if root is not None:
            for operation in (*OPERATIONS, "seen"):
                (root / operation).mkdir(parents=True, exist_ok=True)

    # --- the provider interface --------------------------------------------------------------
    def charge(
        self, *, amount: int, currency: str, token: str, idempotency_key: str, description: str = ""
    ) -> ChargeOutcome:
        record = self._call("charge", idempotency_key, amount, currency, token)
        return ChargeOutcome(record["succeeded"], record["reference"], record.get("failure_reason"))

    def transfer(self, *, amount: int, currency: str, destination: str, idempotency_key: str) -> TransferOutcome:
        record = self._call("transfer", idempotency_key, amount, currency, destination)
        return TransferOutcome(record["succeeded"], record["reference"], record.get("failure_reason"))

    def refund(self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundOutcome:
        existing = self._read("refund", idempotency_key)
        if existing is None:
            charge = self._find_charge(charge_reference)
            if charge is None or not charge["succeeded"]:
                raise PaymentProviderError(f"sandbox: no succeeded charge {charge_reference!r} to refund")
            refunded = sum(r["amount"] for r in self.records("refund") if r["target"] == charge_reference)
            if refunded + amount > charge["amount"]:
                raise PaymentProviderError(
                    f"sandbox: refund of {amount} would exceed charge {charge_reference} ({charge['amount']}, "
                    f"{refunded} already refunded)"
                )
        record = self._call("refund", idempotency_key, amount, currency, charge_reference)
        return RefundOutcome(record["succeeded"], record["reference"], record.get("failure_reason"))

    # --- what tests and drills read ------------------------------------------------------------
    def records(self, operation: str) -> list[dict[str, Any]]:
        """Every distinct operation the sandbox performed (one per idempotency key)."""
        if self.root is None:
            return [dict(r) for (op, _), r in self._memory.items() if op == operation]
        out = []
        for path in sorted((self.root / operation).glob("*.json")):
            out.append(json.loads(path.read_text()))
        return out

    def requests(self) -> list[dict[str, Any]]:
        """Every request received, in order, replays included."""
        if self.root is None:
            return list(self._memory_log)
        log = self.root / "requests.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    # --- internals -----------------------------------------------------------------------------
    def _call(self, operation: str, key: str, amount: int, currency: str, target: str) -> dict[str, Any]:
        if not key:
            raise PaymentProviderError("sandbox: an idempotency key is required")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PaymentProviderError(f"sandbox: amount must be a positive integer of minor units, got {amount!r}")
        if self.latency:
            time.sleep(self.latency)
        self._log({"operation": operation, "idempotency_key": key, "amount": amount, "currency": currency})
        if "transient" in target:
            raise ProviderUnavailableError(f"sandbox: {target} fails transiently (simulated 503)")
        if "flaky" in target and self._first_sight(f"{operation}:{key}"):
            raise ProviderUnavailableError(f"sandbox: {target} failed transiently on first try (simulated 503)")
        declined = "decline" in target or (operation == "transfer" and "fail" in target)
        digest = hashlib.sha256(f"{operation}:{key}".encode()).hexdigest()
        record = {
            "operation": operation,
            "idempotency_key": key,
            "amount": amount,
            "currency": currency,
            "target": target,
            "succeeded": not declined,
            "reference": f"sbx_{operation[:2]}_{digest[:20]}",
            "failure_reason": ("card_declined" if operation == "charge" else "account_closed") if declined else None,
        }
        stored = self._put_if_absent(operation, key, record)
        mismatch = [name for name in ("amount", "currency", "target") if stored[name] != record[name]]
        if mismatch:
            raise PaymentProviderError(
                f"sandbox: idempotency key {key!r} was used for a {operation} with other {', '.join(mismatch)}"
            )
        return stored

    def _path(self, operation: str, key: str) -> Path:
        assert self.root is not None
        return self.root / operation / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    def _read(self, operation: str, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return self._memory.get((operation, key))
        path = self._path(operation, key)
        return json.loads(path.read_text()) if path.exists() else None

    def _put_if_absent(self, operation: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
        if self.root is None:
            with self._lock:
                return self._memory.setdefault((operation, key), record)
        path = self._path(operation, key)
        # Write a complete temporary file, then link it into place: link fails if the key exists,
        # so a crash never leaves a half record and two racing processes keep the first one.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(record, handle)
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            os.unlink(temp)
        stored: dict[str, Any] = json.loads(path.read_text())
        return stored

    def _first_sight(self, marker: str) -> bool:
        if self.root is None:
            with self._lock:
                first = marker not in self._seen
                self._seen.add(marker)
                return first
        path = self.root / "seen" / hashlib.sha256(marker.encode()).hexdigest()
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _find_charge(self, reference: str) -> dict[str, Any] | None:
        return next((r for r in self.records("charge") if r["reference"] == reference), None)

    def _log(self, entry: dict[str, Any]) -> None:
        if self.root is None:
            with self._lock:
                self._memory_log.append(entry)
            return
        line = (json.dumps(entry) + "\n").encode()
        # One O_APPEND write per line: lines from several processes never interleave.
        fd = os.open(self.root / "requests.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
