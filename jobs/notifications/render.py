"""Rendering for the jobs: once per (channel, locale) per notify call, cached in the call.

Templated channels render through ``jobs.notifications.templating`` (also used by
``odyssey-workers notify --preview``); webhooks carry the event as JSON instead of prose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jobs.notifications.contracts import EventSpec
from jobs.notifications.templating import normalize_locale, render


def webhook_body(event: EventSpec, data: Mapping[str, Any], key: str, at: datetime) -> str:
    """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data`` (fixed at notify time,
    so every retry sends the same bytes)."""
    return json.dumps({"type": event.name, "timestamp": at.isoformat(), "data": dict(data), "notification": key})


class Renderer:
    def __init__(self, event: EventSpec, data: Mapping[str, Any], key: str, at: datetime, default_locale: str) -> None:
        self.event, self.data, self.key, self.at = event, data, key, at
        self.default_locale = default_locale
        self.renders = 0
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def locale(self, locale: str | None) -> str:
        return normalize_locale(locale) or normalize_locale(self.default_locale)

    def parts(self, channel: str, locale: str) -> dict[str, str]:
        """The message parts for ``channel`` in ``locale``; a TemplateError (permanent) if it cannot be made."""
        cache_key = (channel, locale)
        if cache_key not in self._cache:
            self.renders += 1
            if channel == "webhook":
                self._cache[cache_key] = {"body": webhook_body(self.event, self.data, self.key, self.at)}
            else:
                rendered = render(self.event.name, channel, locale, self.data, default_locale=self.default_locale)
                self._cache[cache_key] = rendered.parts
        return self._cache[cache_key]
