"""The content domain's part of ``make demo``: generated uploads through the whole pipeline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rich.table import Table

from odyssey_workers.demo import cli, console

DEMO_NAME = "content"
DEMO_ORDER = 10


def sample_media(folder: Path) -> list[Path]:
    """A photo-like JPEG with GPS EXIF, a 4 s 640x360 video with sound, and a 5 s audio clip."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "sunset.jpg"
    image = Image.radial_gradient("L").resize((2400, 1600)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.ellipse((150 * i, 90 * i, 150 * i + 400, 90 * i + 300), fill=(40 + 17 * i, 90, 200 - 12 * i))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPS: must not survive
    image.save(photo, quality=90, exif=exif)
    video, audio = folder / "clip.mp4", folder / "voice.m4a"
    ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [
            *ffmpeg,
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(video),
        ],
        check=True,
        timeout=120,
    )
    subprocess.run(
        [*ffmpeg, "-f", "lavfi", "-i", "sine=frequency=330:duration=5", "-c:a", "aac", str(audio)],
        check=True,
        timeout=60,
    )
    return [photo, video, audio]


def run() -> None:
    """Generated uploads through the whole pipeline: sniff, process, renditions, ready."""
    console.print("[bold]Content[/bold]: an image, a video and an audio clip through the upload pipeline")
    from odyssey_workers.settings import get_settings

    for path in sample_media(get_settings().var_dir / "demo-media"):
        out = cli("ingest", str(path), "--wait", "--json")
        result = json.loads(out.stdout)
        renditions = result.get("renditions", [])
        console.print(
            f"   {path.name}: asset {result.get('asset_id')} {result.get('status')}, {len(renditions)} renditions"
        )
        table = Table("kind", "format", "bytes", "size", "duration", "storage key")
        for item in renditions[:12]:
            size = f"{item.get('width')}x{item.get('height')}" if item.get("width") else ""
            duration = f"{item['duration_seconds']:.1f} s" if item.get("duration_seconds") else ""
            table.add_row(
                str(item.get("kind")),
                str(item.get("format")),
                str(item.get("size_bytes")),
                size,
                duration,
                str(item.get("storage_key")),
            )
        if len(renditions) > 12:
            table.add_row("…", f"{len(renditions) - 12} more", "", "", "", "")
        console.print(table)
