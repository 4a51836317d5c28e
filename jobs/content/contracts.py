"""Content jobs, image side: the upload pipeline, image variants, publishing, smart crops.

Video, HLS, thumbnails, audio and live streams are declared in ``media_contracts`` beside it.
The pipeline refers to every step by its catalog name, so it builds a video chain without
importing video code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from odyssey_workers.catalog import Id, Payload, declare, declare_callback
from odyssey_workers.retry import NO_RETRY, RetryPolicy

PIPELINE_FAILURE_CALLBACK = declare_callback("jobs.content.pipeline.on_step_failed")
"""RQ ``on_failure`` callback every pipeline step carries: a step that fails for good marks
its asset failed, removes every output of the run and cancels the rest of the chain."""


class AssetPayload(Payload):
    asset_id: Id


class RecoverPayload(Payload):
    limit: int = Field(default=500, ge=1, le=10_000)
    min_age_seconds: int = Field(default=120, ge=0, le=86_400)


class SmartCropPayload(Payload):
    asset_id: Id
    aspect: Literal["1:1", "16:9", "4:5", "9:16"] = "1:1"


declare(
    "content.process_upload",
    function="jobs.content.pipeline.process_upload",
    payload=AssetPayload,
    priority=5,
    timeout=120,
    retry=RetryPolicy(attempts=3),
    description="Sniffs an uploaded asset's real type and enqueues its processing chain, ending in finalize.",
)
declare(
    "content.optimize_image",
    function="jobs.content.images.optimize_image",
    payload=AssetPayload,
    priority=5,
    timeout=600,
    retry=RetryPolicy(attempts=3),
    concurrency=5,
    concurrency_key="image",
    description="Decodes an image once and writes responsive JPEG/WebP/AVIF variants, blurhash and colour.",
)
declare(
    "content.finalize_asset",
    function="jobs.content.pipeline.finalize_asset",
    payload=AssetPayload,
    priority=5,
    timeout=600,
    retry=RetryPolicy(attempts=3),
    description="Publishes a processed asset: renditions (and Cloudinary copies) in one step, asset ready.",
)
declare(
    "content.smart_crop",
    function="jobs.content.images.smart_crop",
    payload=SmartCropPayload,
    priority=5,
    timeout=300,
    retry=NO_RETRY,
    concurrency=5,
    concurrency_key="image",
    description="Adds crops of a ready image to an aspect ratio, centred on its most detailed region.",
)
declare(
    "content.recover_stuck_assets",
    function="jobs.content.pipeline.recover_stuck_assets",
    payload=RecoverPayload,
    priority=3,
    timeout=300,
    retry=NO_RETRY,
    description="Fails processing assets whose chain can no longer finish (a work horse died, a callback failed).",
)

# The media side's declarations live beside these; importing the domain's contracts declares both.
from jobs.content import media_contracts  # noqa: E402, F401
