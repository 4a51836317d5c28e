"""Every model, so ``Base.metadata`` is complete for Alembic.

The runtime's own tables are here: the platform's core (users, creators, follows, content assets
and their renditions, which every domain refers to) and the scheduler's runs. Each domain's
tables live in its own ``models`` module; importing this package imports every one of them.
"""

from odyssey_workers.db.models.core import (
    AssetKind,
    AssetStatus,
    ContentAsset,
    Creator,
    Follow,
    Rendition,
    User,
)
from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.domains import import_part

import_part("models")

__all__ = [
    "AssetKind",
    "AssetStatus",
    "ContentAsset",
    "Creator",
    "Follow",
    "Rendition",
    "ScheduleRun",
    "User",
]
