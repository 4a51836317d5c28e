"""The default mailer: every email becomes an ``.eml`` file in the outbox folder. No account.

Files are named after the message's idempotency key and written atomically (temporary file,
then rename), so a re-send of the same delivery finds its file and writes nothing twice. With a
``signer`` (``DKIM_*`` settings) each file carries the DKIM signature the mail would be sent with.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from odyssey_workers.providers.batch import send_each
from odyssey_workers.providers.email_common import EmailBatch, OutgoingEmail, Signer, check_email, mail_bytes
from odyssey_workers.providers.outcomes import Outcome, Sent


def write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it exists; True when this call wrote it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.link(tmp, path)  # fails if another writer got there first: never overwrite
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def outbox_name(key: str, suffix: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40] + suffix


class OutboxMailer:
    name = "outbox"

    def __init__(self, folder: Path, signer: Signer | None = None) -> None:
        self.folder = folder / "email"
        self.signer = signer

    def path_for(self, mail: OutgoingEmail) -> Path:
        return self.folder / outbox_name(mail.key, ".eml")

    def send(self, mail: OutgoingEmail) -> Sent:
        check_email(mail.to)
        write_atomically(self.path_for(mail), mail_bytes(mail, self.signer, linesep="\n"))
        return Sent(message_id=mail.message_id)

    def send_many(self, mails: Sequence[OutgoingEmail]) -> list[Outcome]:
        return send_each(self.send, mails)  # one bad address must not fail the others

    def send_batch(self, batch: EmailBatch) -> list[Outcome]:
        return self.send_many(batch.personalized())
