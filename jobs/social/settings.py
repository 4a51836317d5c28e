"""The social domain's settings (``SOCIAL_*``)."""

from __future__ import annotations

from odyssey_workers.settings import DomainSettings, Settings, domain_settings


class SocialSettings(DomainSettings):
    pass


SETTINGS = SocialSettings


def social_settings(settings: Settings | None = None) -> SocialSettings:
    """The social settings, read at start with every other domain's."""
    return domain_settings(SocialSettings, settings)
