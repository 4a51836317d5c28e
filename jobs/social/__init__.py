"""Social: what fans see when they open the app.

A published post (``content_assets`` with ``published_at`` set and no ``removed_at``) reaches the
social domain by name: the content pipeline enqueues ``social.content_published`` once a post is
published, and the platform enqueues ``social.content_updated`` and ``social.content_removed``
when a creator edits or deletes a post or moderation takes it down. Each of those jobs checks the
post, then enqueues the domain's own jobs listed in ``lifecycle`` for that moment.
"""
