"""odyssey-workers: the background-processing service of the Odyssey creator platform."""

from odyssey_workers.errors import OdysseyError, PermanentError, RetryableError
from odyssey_workers.events import track, track_many
from odyssey_workers.queues import JobRequest, enqueue, enqueue_many

__all__ = [
    "JobRequest",
    "OdysseyError",
    "PermanentError",
    "RetryableError",
    "enqueue",
    "enqueue_many",
    "track",
    "track_many",
]
__version__ = "0.1.0"
