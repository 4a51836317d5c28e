"""Named defaults of the runtime, each with its unit (the style of ``rq/defaults.py``)."""

QUEUE_NAMES: tuple[str, ...] = ("high", "default", "low")
"""The named queues, in the order workers take from them."""

PRIORITY_HIGH_MIN = 8
"""Platform priorities 8-10 go to ``high``."""

PRIORITY_DEFAULT_MIN = 4
"""Platform priorities 4-7 go to ``default``; 1-3 go to ``low``."""

JOB_TIMEOUT_SECONDS = 600
"""How long one attempt of a job may run before RQ stops it, in seconds."""

RETRY_ATTEMPTS = 3
"""How many attempts a job gets in all (the first run plus retries)."""

RETRY_BASE_SECONDS = 2.0
"""The first backoff interval, in seconds."""

RETRY_FACTOR = 4.0
"""Each backoff interval is this many times the one before."""

RETRY_CAP_SECONDS = 3600.0
"""No backoff interval is longer than this, in seconds."""

RETRY_JITTER = 0.25
"""Each interval is moved by up to this fraction, up or down, so retries do not stampede."""

RESULT_TTL_SECONDS = 24 * 3600
"""How long a finished job and its result stay in Redis, in seconds."""

FAILURE_TTL_SECONDS = 30 * 24 * 3600
"""How long a failed job stays in the failed registry, in seconds."""

MAINTENANCE_INTERVAL_SECONDS = 5
"""How often a worker looks for abandoned jobs (RQ's default is 600 s), in seconds."""

JOB_MONITORING_INTERVAL_SECONDS = 5
"""How often a worker heartbeats while its job runs, in seconds."""

HEARTBEAT_GRACE_SECONDS = 5
"""How long past a missed heartbeat a job counts as abandoned (RQ uses 60 s), in seconds."""

WORKER_PROCESSES = 2
"""Worker processes started by ``odyssey-workers run`` and ``worker``."""

DASHBOARD_PORT = 9181
"""The rq-dashboard port on localhost."""

METRICS_PORT = 9182
"""The Prometheus metrics and health port on localhost."""

BULK_PIPELINE_SIZE = 1000
"""Jobs written per Redis pipeline round trip by ``enqueue_many``."""

MAINTENANCE_LOCK_SECONDS = 30
"""How long a queue's maintenance lock outlives a worker that died holding it (RQ: 899 s), in seconds."""

HELD_JOB_STALE_SECONDS = 60
"""A worker silent this long counts as dead, and its held (taken, not started) jobs go back, in seconds."""

UNBEGUN_REQUEUE_LIMIT = 5
"""How many times a job whose work horse never began it goes back to its queue free of charge."""

EVENT_STREAM_MAXLEN = 1_000_000
"""Entries the event stream keeps, roughly (``XADD ... MAXLEN ~``): drained or not, older ones go."""
