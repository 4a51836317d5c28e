"""What a provider call can come to, as plain values and exceptions the send jobs act on.

* ``Sent``: the provider accepted the message (its message id, when it gives one).
* ``ProviderRejected`` (permanent): a 4xx that no retry can fix (bad address, bad auth).
* ``RecipientGone`` (permanent): the device or address no longer exists (push 404/410).
* ``InvalidAddress`` (permanent): the address is malformed; nothing was sent.
* ``AddressRefused`` (permanent): an outgoing URL points at a private or internal address.
* ``ProviderUnavailable`` (retryable): 5xx, 429, timeout or a lost connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from odyssey_workers.errors import PermanentError, RetryableError


@dataclass(frozen=True)
class Sent:
    message_id: str | None = None
    http_status: int | None = None


class ProviderRejected(PermanentError):
    """The provider refused the message for good (a 4xx other than 408/429)."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class RecipientGone(ProviderRejected):
    """The push subscription, device token or address no longer exists."""


class InvalidAddress(PermanentError):
    """An email address or phone number is malformed; the message names it."""


class AddressRefused(PermanentError):
    """An outgoing connection would reach a private, loopback, link-local or internal address."""


class ProviderUnavailable(RetryableError):
    """A passing failure (5xx, 429, timeout, lost connection); ``retry_after`` is a hint in seconds."""

    def __init__(self, message: str, http_status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retry_after = retry_after


Outcome = Sent | Exception
"""Per-recipient result of a batch call."""
