"""Notification jobs: notify → (fan-out chunks) → send; provider callbacks; the weekly digest.

The flow and the contracts are described in ``docs/notifications.md``; job declarations live in
``contracts.py`` beside it.
"""
