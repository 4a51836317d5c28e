"""Analytics: what users do on the platform, recorded as events.

Today this is the event intake: producers append events to the runtime's event stream
(``odyssey_workers.track``), and ``analytics.drain_events`` moves them in batches into
``analytics_events``, setting bad ones aside in ``analytics_rejected_events`` with the reason.
The rollups sum them per hour and day (``rollups``); ``analytics.forward_events`` sends them on to
the trackers chosen in ``ANALYTICS_TRACKERS`` (``trackers``).
"""
