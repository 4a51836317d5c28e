"""What ``odyssey-workers doctor`` says about the content delivery provider."""

from __future__ import annotations

from jobs.content.settings import ContentSettings, content_settings
from odyssey_workers.cli.doctor import Provider
from odyssey_workers.settings import Settings

PROVIDERS = [
    Provider(
        "delivery: Cloudinary",
        ("cloudinary_cloud_name", "cloudinary_api_key", "cloudinary_api_secret"),
        None,
        "renditions are served from storage only",
    )
]
SELECTORS: list[tuple[str, str, str]] = []
UNREAD: dict[str, str] = {}


def settings_for(settings: Settings) -> ContentSettings:
    return content_settings(settings)
