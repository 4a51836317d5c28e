"""The failure reason a creator sees on an asset: one plain sentence, never internals.

The asset's ``failure_reason`` is a sentence a creator can act on, made here: the sentence a
raise site attached with ``odyssey_workers.media.reasons.with_reason``, else the message of a
``PermanentError`` when it holds nothing internal, else a sentence about the step that failed.
"""

from __future__ import annotations

from odyssey_workers.errors import PermanentError
from odyssey_workers.media.reasons import attached_reason, looks_internal, sentence

STEP_ACTIONS = {
    "content.process_upload": "Checking the upload",
    "content.optimize_image": "Processing the image",
    "content.probe_video": "Reading the video",
    "content.transcode_video": "Converting the video",
    "content.package_hls": "Preparing the video for streaming",
    "content.make_thumbnails": "Making the video's thumbnails",
    "content.process_audio": "Processing the audio",
    "content.finalize_asset": "Publishing the upload",
}
"""What each pipeline step does, in a creator's words (other steps: "Processing the upload")."""

MISSING_ORIGINAL = "The uploaded file is missing from storage. Please upload it again."
LOGO_UNUSABLE = (
    "The watermark logo in your settings cannot be used: it is missing, damaged, too large or not a supported image."
)


def step_action(step: str) -> str:
    return STEP_ACTIONS.get(step, "Processing the upload")


def unexpected(step: str) -> str:
    """The reason for a failure with nothing a creator could do about it but try again."""
    return f"{step_action(step)} failed because of a problem on our side. Please upload the file again."


def creator_reason(step: str, error: BaseException | None) -> str:
    """The sentence for ``error`` raised by ``step``: attached, a clean PermanentError's, or generic."""
    attached = attached_reason(error)
    if attached:
        return sentence(attached)
    message = str(error).strip() if error is not None else ""
    if isinstance(error, PermanentError) and message and not looks_internal(message):
        return sentence(message)
    return unexpected(step)


def timed_out(step: str, limit_seconds: float | None) -> str:
    limit = f" of {round(limit_seconds)} seconds" if limit_seconds else ""
    return f"{step_action(step)} took longer than its time limit{limit}. Please upload the file again."


def worker_stopped(step: str, signal: int | None = None) -> str:
    """A dead work horse: killed (often out of memory), crashed in a codec, or its machine lost."""
    how = f"signal {signal}" if signal is not None else "killed or out of memory"
    return f"{step_action(step)} did not finish: the worker running it stopped ({how}). Please upload the file again."
