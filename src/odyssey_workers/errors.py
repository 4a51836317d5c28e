"""The exceptions of odyssey-workers: one root, and the permanent/retryable split workers act on."""

from __future__ import annotations


class OdysseyError(Exception):
    """Root of every error this service raises on purpose."""


class ConfigurationError(OdysseyError):
    """A setting is missing or malformed; the message names the variable."""


class CatalogError(OdysseyError):
    """A job declaration is wrong (duplicate name, unknown queue or option)."""


class PermanentError(OdysseyError):
    """The job can never succeed as asked (bad input, unsupported file, unknown user): never retried."""


class UnknownJobError(PermanentError):
    """The job name or function is not in the catalog."""


class PayloadError(PermanentError):
    """A payload does not match its job's model; the message names the field and the reason."""


class RetryableError(OdysseyError):
    """A passing fault (a timeout, a 5xx, a lost connection): the job is tried again with backoff."""


class StorageKeyError(PermanentError):
    """A storage key is not allowed (escapes the root, absolute, NUL byte)."""


class ScheduleError(OdysseyError):
    """``schedules.yaml`` is wrong; the message names the entry."""
