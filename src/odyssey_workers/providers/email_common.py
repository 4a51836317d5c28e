"""The email every mail provider sends: one shape, built into MIME in one place.

Each message carries an HTML and a plain-text part, a stable ``Message-ID`` made from the
delivery's idempotency key (so a re-send after a lost worker is recognisably the same mail),
and one-click unsubscribe headers (RFC 2369 ``List-Unsubscribe`` + RFC 8058
``List-Unsubscribe-Post``).

``MAIL_POLICY`` folds those headers at whitespace only, never as RFC 2047 encoded-words: the
standard policy encodes any word longer than a line, which turns ``<https://…>`` into
``=?utf-8?q?=3Chttps…?=`` — a value in which RFC 2369 readers find no URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

from email_validator import EmailNotValidError, validate_email
from markupsafe import escape

from odyssey_workers.providers.batch import in_order, keep_valid
from odyssey_workers.providers.outcomes import InvalidAddress, Outcome, Sent

VERBATIM_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
MAX_HEADER_LINE = 998  # RFC 5322 2.1.1: the hard limit; 78 is only the recommendation


class UnencodedListHeadersPolicy(EmailPolicy):
    """``email.policy.default``, except that ASCII ``List-Unsubscribe*`` values are folded at
    whitespace and never encoded (a single long URL stays whole on its line)."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in VERBATIM_HEADERS and str(value).isascii():
            return fold_at_whitespace(name, str(value), self.max_line_length or MAX_HEADER_LINE, self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in VERBATIM_HEADERS and str(value).isascii():
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


def fold_at_whitespace(name: str, value: str, width: int, linesep: str) -> str:
    """``Name: value`` folded before whitespace so lines stay within ``width`` where a word allows."""
    words = value.split()
    if any(len(word) + 1 > MAX_HEADER_LINE for word in words):
        raise ValueError(f"{name} has a word over {MAX_HEADER_LINE} characters; it cannot be sent unencoded")
    lines = [f"{name}:"]
    for word in words:
        if len(lines[-1]) + 1 + len(word) > width and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + word
    return linesep.join(lines) + linesep


MAIL_POLICY = UnencodedListHeadersPolicy()


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    sender: str
    subject: str
    text: str
    html: str
    key: str  # the delivery's idempotency key
    unsubscribe_url: str | None = None
    to_name: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "odyssey.local"
        return f"<{digest}@{domain}>"


def check_email(address: str) -> str:
    """The normalized address, or InvalidAddress naming what is wrong with it."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid email address {address!r}: {exc}") from None


def unsubscribe_headers(url: str | None) -> dict[str, str]:
    if not url:
        return {}
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def build_mime(mail: OutgoingEmail) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = mail.sender
    message["To"] = formataddr((mail.to_name, mail.to)) if mail.to_name else mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    for name, value in {**unsubscribe_headers(mail.unsubscribe_url), **mail.headers}.items():
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class Signer(Protocol):
    def sign(self, message: bytes, linesep: bytes = b"\r\n") -> bytes: ...


def mail_bytes(mail: OutgoingEmail, signer: Signer | None = None, linesep: str = "\r\n") -> bytes:
    """The message as it goes on the wire (or into the outbox), DKIM-signed when ``signer`` is given.

    The signature is made over these exact bytes, so nothing may re-serialize them afterwards.
    """
    message = build_mime(mail)
    international = not (mail.to.isascii() and mail.sender.isascii())
    raw = message.as_bytes(policy=MAIL_POLICY.clone(linesep=linesep, utf8=international))
    return signer.sign(raw, linesep.encode()) if signer else raw


RECIPIENT_FIELDS = ("name", "unsubscribe_url")


@dataclass(frozen=True)
class Recipient:
    to: str
    key: str  # the delivery's idempotency key
    name: str = ""
    unsubscribe_url: str = ""

    def values(self, html: bool = False) -> dict[str, str]:
        raw = {"name": self.name, "unsubscribe_url": self.unsubscribe_url}
        return {k: str(escape(v)) for k, v in raw.items()} if html else raw


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ``%recipient.<field>%`` placeholders (the templates' per-recipient holes)."""
    for name in RECIPIENT_FIELDS:
        text = text.replace(f"%recipient.{name}%", values.get(name, ""))
    return text


def html_placeholders(html: str) -> str:
    """``%recipient.name%`` → ``%recipient.name_html%`` in the HTML part, so a provider that
    substitutes raw values can be handed escaped ones there and plain ones in the text."""
    for name in RECIPIENT_FIELDS:
        html = html.replace(f"%recipient.{name}%", f"%recipient.{name}_html%")
    return html


@dataclass(frozen=True)
class EmailBatch:
    """One rendered email (with per-recipient placeholders) for many recipients."""

    sender: str
    subject: str
    text: str
    html: str
    recipients: list[Recipient]

    @classmethod
    def of_one(cls, mail: OutgoingEmail) -> EmailBatch:
        """The one-recipient batch a batch-API provider sends a single mail as."""
        recipient = Recipient(mail.to, mail.key, mail.to_name, mail.unsubscribe_url or "")
        return cls(mail.sender, mail.subject, mail.text, mail.html, [recipient])

    def personalized(self) -> list[OutgoingEmail]:
        return [
            OutgoingEmail(
                to=r.to,
                sender=self.sender,
                subject=fill(self.subject, r.values()),
                text=fill(self.text, r.values()),
                html=fill(self.html, r.values(html=True)),
                key=r.key,
                unsubscribe_url=r.unsubscribe_url or None,
                to_name=r.name,
            )
            for r in self.recipients
        ]


def send_in_chunks(
    batch: EmailBatch,
    chunk_size: int,
    post: Callable[[EmailBatch, list[Recipient]], str | None],
    sent: Callable[[str | None], Sent],
) -> list[Outcome]:
    """A provider batch API: invalid addresses fail alone, the rest go ``chunk_size`` per call.

    A failed call is the outcome of every recipient in its chunk; the list comes back in the
    batch's recipient order.
    """
    valid, results = keep_valid(batch.recipients, lambda recipient: check_email(recipient.to))
    for start in range(0, len(valid), chunk_size):
        chunk = valid[start : start + chunk_size]
        try:
            outcome = sent(post(batch, chunk))
            results.update({r.key: outcome for r in chunk})
        except Exception as exc:  # noqa: BLE001 - the call's failure is every recipient's
            results.update({r.key: exc for r in chunk})
    return in_order(batch.recipients, results)
