"""Discord webhook messages with an embed.

``POST <webhook url>?wait=true`` with ``{"embeds": [...]}`` and no mentions allowed (a template
value must never ping @everyone). A 429 names ``retry_after`` in seconds: short waits are waited
out here and the message re-posted; longer ones become ``ProviderUnavailable`` carrying the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from odyssey_workers.providers.httpapi import raise_for_outcome, request
from odyssey_workers.providers.outcomes import ProviderUnavailable, RecipientGone, Sent

EMBED_COLOR = 0x6C5CE7
TITLE_LIMIT, DESCRIPTION_LIMIT = 256, 4096


class DiscordSender:
    name = "discord"

    def __init__(
        self, client: httpx.Client, max_wait_seconds: float = 10.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client  # a netguard.guarded_client: the URL is user-supplied
        self.max_wait = max_wait_seconds
        self.sleep = sleep

    def send(self, webhook_url: str, title: str, description: str, url: str = "") -> Sent:
        embed: dict[str, object] = {
            "title": title[:TITLE_LIMIT],
            "description": description[:DESCRIPTION_LIMIT],
            "color": EMBED_COLOR,
        }
        if url:
            embed["url"] = url
        body = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        parts = urlsplit(webhook_url)
        target = urlunsplit(parts._replace(query=(parts.query + "&" if parts.query else "") + "wait=true"))
        waited = 0.0
        while True:
            response = request(self.client, "POST", target, "Discord", json=body)
            if response.status_code != 429:
                break
            retry_after = _retry_after(response)
            if waited + retry_after > self.max_wait:
                raise ProviderUnavailable(f"Discord rate limit: retry after {retry_after:.1f}s", 429, retry_after)
            self.sleep(retry_after)
            waited += retry_after
        if response.status_code in (404, 401):
            raise RecipientGone(f"Discord webhook no longer exists (HTTP {response.status_code})", response.status_code)
        raise_for_outcome(response, "Discord")
        message_id = None
        if response.status_code == 200:
            try:
                message_id = str(response.json().get("id"))
            except ValueError:
                message_id = None
        return Sent(message_id=message_id, http_status=response.status_code)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.json().get("retry_after", 1.0)))
    except (ValueError, AttributeError):
        header = response.headers.get("retry-after", "1")
        try:
            return max(0.0, float(header))
        except ValueError:
            return 1.0
