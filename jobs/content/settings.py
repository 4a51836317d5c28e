"""The content domain's settings, read from the same variables as always (``CONTENT_*``, ``CLOUDINARY_*``).

Every enumerated value is a ``Literal``: a wrong ``CONTENT_PREVIEW_FORMAT`` or
``CONTENT_IMAGE_FORMATS`` stops start-up with one line naming the variable, instead of failing
each upload at run time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from odyssey_workers.settings import DomainSettings, Settings, domain_settings

ImageFormat = Literal["jpeg", "webp", "avif"]
WatermarkPosition = Literal["top-left", "top-right", "bottom-left", "bottom-right", "center"]
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


class ContentSettings(DomainSettings):
    # --- content: delivery copies (Cloudinary) -------------------------------------------------
    cloudinary_cloud_name: str | None = None
    cloudinary_api_key: SecretStr | None = None
    cloudinary_api_secret: SecretStr | None = None
    cloudinary_api_base: str = "https://api.cloudinary.com"  # delivery copies go here when configured

    # --- content: images, watermarks, delivery (jobs/content, docs/content-images.md) ----------
    content_image_widths: list[Annotated[int, Field(ge=16, le=8192)]] = [320, 640, 1280, 2048]
    content_image_formats: list[ImageFormat] = ["jpeg", "webp", "avif"]
    content_jpeg_quality: Annotated[int, Field(ge=1, le=95)] = 82
    content_webp_quality: Annotated[int, Field(ge=1, le=100)] = 80
    content_avif_quality: Annotated[int, Field(ge=1, le=100)] = 60
    content_avif_speed: Annotated[int, Field(ge=0, le=10)] = 8  # libavif: 0 slowest/smallest, 10 fastest
    content_image_max_bytes: Annotated[int, Field(ge=1)] = 50 * 1024 * 1024
    content_image_max_pixels: Annotated[int, Field(ge=1)] = 50_000_000  # width x height, read from the header
    content_image_max_side: Annotated[int, Field(ge=1)] = 20_000  # pixels, either side
    content_gif_max_frames: Annotated[int, Field(ge=1)] = 1000
    content_gif_max_total_pixels: Annotated[int, Field(ge=1)] = 400_000_000  # frames x width x height
    content_animation_mp4_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    content_watermark_position: WatermarkPosition = "bottom-right"
    content_watermark_margin: Annotated[float, Field(ge=0, le=0.25)] = 0.03  # fraction of the output width
    content_watermark_opacity: Annotated[float, Field(ge=0, le=1)] = 0.6
    content_watermark_scale: Annotated[float, Field(gt=0, le=1)] = 0.15  # logo/text width / output width
    content_pre_publish_steps: list[str] = []  # catalog job names taking asset_id, run before publish
    # Catalog job names taking asset_id, enqueued once a post is published (feeds, search, ...).
    content_on_publish_jobs: list[str] = ["social.content_published"]
    content_cloudinary_folder: str = "odyssey"

    # --- content: video, HLS, thumbnails, audio, live (jobs/content, docs/content-media.md) ----
    content_video_max_bytes: Annotated[int, Field(ge=1)] = 20 * 1024**3
    content_video_max_duration_seconds: Annotated[float, Field(gt=0)] = 4 * 3600.0
    content_video_max_pixels: Annotated[int, Field(ge=1)] = 4096 * 2304  # width x height of one frame
    content_video_max_side: Annotated[int, Field(ge=16)] = 8192  # pixels, either side
    content_video_max_streams: Annotated[int, Field(ge=1)] = 8  # streams of any type in the container
    content_video_max_frames: Annotated[int, Field(ge=1)] = 4 * 3600 * 60
    content_video_max_fps: Annotated[float, Field(gt=0)] = 120.0
    content_video_codecs: list[str] = ["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "prores", "mjpeg"]
    content_audio_codecs: list[str] = [
        "aac",
        "mp3",
        "opus",
        "vorbis",
        "flac",
        "alac",
        "ac3",
        "eac3",
        "pcm_s16le",
        "pcm_s16be",
        "pcm_s24le",
        "pcm_s32le",
        "pcm_f32le",
        "pcm_u8",
    ]
    content_audio_max_bytes: Annotated[int, Field(ge=1)] = 2 * 1024**3
    content_audio_max_duration_seconds: Annotated[float, Field(gt=0)] = 6 * 3600.0
    content_video_ladder_kbps: dict[int, int] = {1080: 5000, 720: 2800, 480: 1400, 360: 800}  # height: max kbit/s
    content_video_mp4_max_height: Annotated[int, Field(ge=16)] = 1080
    content_video_crf: Annotated[int, Field(ge=0, le=51)] = 21
    content_video_x264_preset: X264Preset = "superfast"  # same preset for the MP4, the HLS ladder and live VODs
    content_video_threads: Annotated[int, Field(ge=0, le=64)] = 0  # ffmpeg threads per encoder; 0 = automatic
    content_video_webm_enabled: bool = False  # VP9 + Opus next to the MP4 (slow: several times the H.264 cost)
    content_video_vp9_crf: Annotated[int, Field(ge=0, le=63)] = 33
    content_video_audio_kbps: Annotated[int, Field(ge=16, le=512)] = 128
    content_hls_segment_seconds: Annotated[int, Field(ge=4, le=6)] = 4
    content_thumbnail_interval_seconds: Annotated[float, Field(gt=0)] = 10.0  # one sprite tile per interval
    content_thumbnail_max_tiles: Annotated[int, Field(ge=1, le=400)] = 100
    content_thumbnail_tile_width: Annotated[int, Field(ge=32, le=640)] = 160
    content_thumbnail_columns: Annotated[int, Field(ge=1, le=40)] = 10
    content_poster_max_width: Annotated[int, Field(ge=64)] = 1280
    content_preview_seconds: Annotated[float, Field(gt=0, le=30)] = 3.0
    content_preview_format: Literal["webp", "mp4"] = "webp"  # webp: animated
    content_audio_aac_kbps: Annotated[int, Field(ge=16, le=512)] = 128
    content_audio_opus_kbps: Annotated[int, Field(ge=16, le=512)] = 96
    content_audio_mp3_kbps: Annotated[int, Field(ge=32, le=320)] = 192
    content_loudness_target_lufs: Annotated[float, Field(ge=-70, le=-5)] = -14.0
    content_loudness_true_peak_db: Annotated[float, Field(ge=-9, le=0)] = -1.0
    content_loudness_range_lu: Annotated[float, Field(ge=1, le=50)] = 11.0
    content_waveform_points: Annotated[int, Field(ge=10, le=10_000)] = 1000
    content_media_timeout_base_seconds: Annotated[int, Field(ge=10)] = 120
    content_media_timeout_per_input_second: Annotated[float, Field(ge=0)] = 4.0  # capped by JOB_TIMEOUT_CAP_SECONDS
    content_live_poll_seconds: Annotated[float, Field(gt=0, le=5)] = 0.2
    content_live_window_segments: Annotated[int, Field(ge=3, le=100)] = 6
    content_live_idle_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0  # no new segment this long: stream over
    content_live_max_clip_seconds: Annotated[float, Field(gt=0)] = 300.0


SETTINGS = ContentSettings


def content_settings(settings: Settings | None = None) -> ContentSettings:
    """The content settings, read at start with every other domain's."""
    return domain_settings(ContentSettings, settings)
