"""The scheduler: ``schedules.yaml`` entries, validated, synced into rq-scheduler, fired once per period.

* ``entries``: read and validate the file (every problem at once, each naming its entry).
* ``periods``: cron ticks, period keys (``payouts.weekly:2026-W48``) and job ids, in UTC.
* ``sync``: make rq-scheduler's tickets match the file, idempotently.
* ``rqscheduler``: the rq-scheduler subclass and its run loop.
* ``firing``: the ``schedules.fire`` job's body: claim the period, enqueue the target job.
"""
