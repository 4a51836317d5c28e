"""The push message every push provider sends, and the outbox that needs no account."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from odyssey_workers.providers.email_outbox import outbox_name, write_atomically
from odyssey_workers.providers.outcomes import Sent


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    key: str  # the delivery's idempotency key (APNs apns-id, collapse and dedupe ids)
    url: str = ""
    data: dict[str, str] = field(default_factory=dict)
    urgent: bool = False

    def payload(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "url": self.url, "key": self.key, "data": self.data}


class JsonOutbox:
    """Writes each message as one JSON file, named by its key (re-sends write nothing)."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder = folder / kind
        self.name = "outbox"

    def write(self, key: str, record: dict[str, Any]) -> Sent:
        path = self.folder / outbox_name(key, ".json")
        write_atomically(path, json.dumps(record, indent=2, sort_keys=True).encode())
        return Sent(message_id=path.stem)


class PushOutbox(JsonOutbox):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder, "push")

    def send(self, device_kind: str, token: str, message: PushMessage) -> Sent:
        return self.write(message.key, {"device": device_kind, "token": token, **asdict(message)})
