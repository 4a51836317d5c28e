"""Forwarding accepted events to outside trackers: Mixpanel, Amplitude, GA4, or a local JSON-lines file.

``analytics.forward_events`` reads ``analytics_events`` past each enabled tracker's cursor, strips
what must never leave (email addresses, phone numbers, opted-out users), maps each event to the
tracker's format and sends it in requests within that provider's limits (``forward``).
"""
