"""DKIM signatures (RFC 6376, rsa-sha256, relaxed/relaxed) for mail this service writes itself.

SMTP and the outbox are signed here; Mailgun and SendGrid sign on their side with the domain's
key they hold. The signature covers the headers a receiver shows or acts on, including
``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 section 4 requires both in
``h=`` for one-click unsubscribe to be honoured).
"""

from __future__ import annotations

import re

import dkim  # type: ignore[import-untyped]

from odyssey_workers.errors import ConfigurationError

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


class DkimSigner:
    """Signs whole messages with one selector, domain and RSA private key (PEM)."""

    def __init__(self, selector: str, domain: str, private_key_pem: str) -> None:
        if not selector or not domain:
            raise ConfigurationError("DKIM signing needs DKIM_SELECTOR and a domain (DKIM_DOMAIN or EMAIL_FROM's)")
        self.selector = selector
        self.domain = domain
        self._key = private_key_pem.encode()
        try:  # a bad key is a configuration error at start-up, not a failure of every send
            self.sign(b"From: a@b.c\r\nSubject: key check\r\n\r\nx\r\n")
        except dkim.DKIMException as exc:
            raise ConfigurationError(f"DKIM_PRIVATE_KEY: not a usable RSA private key in PEM form ({exc})") from None

    def sign(self, message: bytes, linesep: bytes = b"\r\n") -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front; lines end with ``linesep``."""
        head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
        present = {line.split(b":", 1)[0].strip().lower() for line in head.splitlines()}
        headers = [h.encode() for h in SIGNED_HEADERS if h.lower().encode() in present]
        signature: bytes = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
            linesep=linesep,
        )
        return signature + message
