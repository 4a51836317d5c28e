"""Email over SMTP with STARTTLS (``smtplib``), one connection per batch.

``SMTP_URL`` forms:

* ``smtp://user:pass@host:587`` — STARTTLS is required; a server that does not offer it is an
  error, never a silent fall back to plain text;
* ``smtps://user:pass@host:465`` — TLS from the first byte;
* ``smtp+plain://host:1025`` — no TLS at all, for a local catcher such as MailHog.

A 5xx reply is permanent for that recipient; a 4xx reply or a lost connection is passing.
With a ``signer`` (``DKIM_*`` settings) each message is DKIM-signed over the exact bytes sent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.batch import in_order, keep_valid, sent_or_raise
from odyssey_workers.providers.email_common import EmailBatch, OutgoingEmail, Signer, check_email, mail_bytes
from odyssey_workers.providers.httpapi import ssl_context
from odyssey_workers.providers.outcomes import Outcome, ProviderRejected, ProviderUnavailable, Sent

DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ConfigurationError("SMTP_URL: expected smtp://, smtps:// or smtp+plain:// (e.g. smtp://user:pw@host:587)")
    if not parts.hostname:
        raise ConfigurationError("SMTP_URL: expected a host, as in smtp://mail.example.com:587")
    return SmtpTarget(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _classify(exc: smtplib.SMTPException, to: str) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        if code >= 500:
            return ProviderRejected(f"SMTP server refused {to}: {code} {text}", code)
        return ProviderUnavailable(f"SMTP server deferred {to}: {code} {text}", code)
    if isinstance(code, int) and code >= 500:
        return ProviderRejected(f"SMTP server refused the message to {to}: {exc}", code)
    return ProviderUnavailable(f"SMTP failure sending to {to}: {exc}", code if isinstance(code, int) else None)


class SmtpMailer:
    name = "smtp"

    def __init__(
        self, url: str, timeout: float = 10.0, ca_file: Path | str | None = None, signer: Signer | None = None
    ) -> None:
        self.target = parse_smtp_url(url)
        self.timeout = timeout
        self.tls: ssl.SSLContext = ssl_context(ca_file)
        self.signer = signer

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        try:
            if t.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=self.tls)
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
                client.ehlo()
                if t.scheme == "smtp":
                    if not client.has_extn("starttls"):
                        client.quit()
                        raise ProviderRejected(
                            f"SMTP server {t.host}:{t.port} does not offer STARTTLS; refusing plain text"
                        )
                    client.starttls(context=self.tls)
                    client.ehlo()
            if t.username:
                client.login(t.username, t.password or "")
            return client
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderRejected(f"SMTP login to {t.host} failed: {exc.smtp_code}", exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderUnavailable(f"cannot reach SMTP server {t.host}:{t.port}: {exc}") from None

    def send(self, mail: OutgoingEmail) -> Sent:
        return sent_or_raise(self.send_many([mail])[0])

    def send_many(self, mails: Sequence[OutgoingEmail]) -> list[Outcome]:
        """One outcome per mail, in order; one SMTP session for the whole batch."""
        pending, results = keep_valid(mails, lambda mail: check_email(mail.to))
        if pending:
            try:
                client = self._connect()
            except Exception as exc:  # noqa: BLE001 - the same failure for every recipient of the batch
                results.update({mail.key: exc for mail in pending})
            else:
                self._send_all(client, pending, results)
        lost = ProviderUnavailable("SMTP connection lost before this message was sent")
        return in_order(mails, results, lost)

    def _send_all(self, client: smtplib.SMTP, mails: list[OutgoingEmail], results: dict[str, Outcome]) -> None:
        try:
            for mail in mails:
                try:
                    raw = mail_bytes(mail, self.signer)  # signed bytes go out as they are
                except Exception as exc:  # noqa: BLE001 - a message that cannot be built fails alone
                    results[mail.key] = exc
                    continue
                international = not (mail.to.isascii() and mail.sender.isascii())
                options = ("SMTPUTF8", "BODY=8BITMIME") if international else ()
                try:
                    client.sendmail(parseaddr(mail.sender)[1], [mail.to], raw, mail_options=options)
                    results[mail.key] = Sent(message_id=mail.message_id)
                except smtplib.SMTPServerDisconnected as exc:
                    results[mail.key] = ProviderUnavailable(f"SMTP connection lost sending to {mail.to}: {exc}")
                    return
                except smtplib.SMTPException as exc:
                    results[mail.key] = _classify(exc, mail.to)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass

    def send_batch(self, batch: EmailBatch) -> list[Outcome]:
        return self.send_many(batch.personalized())
