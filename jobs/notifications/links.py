"""Signed one-click unsubscribe links (``List-Unsubscribe`` and the email footer).

The token is ``<user id>.<category>.<HMAC>``; the web service that serves the link verifies it
with ``verify_token`` (same secret: ``UNSUBSCRIBE_SECRET``, or the key file under ``VAR_DIR``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import cache
from urllib.parse import urlencode

from jobs.notifications.settings import notifications_settings
from odyssey_workers.settings import get_settings


@cache
def _secret() -> bytes:
    settings = notifications_settings()
    if settings.unsubscribe_secret is not None:
        return settings.unsubscribe_secret.get_secret_value().encode()
    path = get_settings().var_dir / "notifications" / "unsubscribe.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        except FileExistsError:
            pass  # another worker made it first
    return path.read_text().strip().encode()


def make_token(user_id: int, category: str) -> str:
    message = f"{user_id}.{category}".encode()
    digest = hmac.new(_secret(), message, hashlib.sha256).digest()[:18]
    return f"{user_id}.{category}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def verify_token(token: str) -> tuple[int, str] | None:
    """(user id, category) when the token is genuine, else None."""
    try:
        user, category, _ = token.split(".", 2)
        expected = make_token(int(user), category)
    except ValueError:
        return None
    return (int(user), category) if hmac.compare_digest(expected, token) else None


def unsubscribe_url(user_id: int, category: str) -> str:
    base = notifications_settings().unsubscribe_base_url
    return f"{base}{'&' if '?' in base else '?'}{urlencode({'token': make_token(user_id, category)})}"
