"""What an upload really is, from its first bytes: never from its name or declared type.

Only the formats on the allow-list come back as a ``Sniffed`` with a kind the pipeline
processes; everything else is refused with a ``PermanentError`` that says what the bytes look
like (HTML, SVG, an HLS playlist, an ffmpeg concat list, a ZIP, ...), so the creator learns why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from odyssey_workers.errors import PermanentError

HEAD_BYTES = 4096
"""How much of the start of a file is read to decide what it is."""


@dataclass(frozen=True)
class Sniffed:
    """The real type of an upload: its kind (image/video/audio), format name and MIME type."""

    kind: str
    format: str
    mime: str


IMAGE_FORMATS = {
    # format -> (MIME type, the Pillow plugin allowed to decode it)
    "jpeg": ("image/jpeg", "JPEG"),
    "png": ("image/png", "PNG"),
    "gif": ("image/gif", "GIF"),
    "webp": ("image/webp", "WEBP"),
    "avif": ("image/avif", "AVIF"),
    "heic": ("image/heic", "HEIF"),
}

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_VIDEO_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"M4VH",
    b"M4VP",
    b"qt  ",
    b"3gp4",
    b"3gp5",
    b"3gp6",
    b"3g2a",
    b"mmp4",
    b"XAVC",
    b"MSNV",
    b"f4v ",
}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"F4A "}

_TEXT_SIGNS: list[tuple[re.Pattern[bytes], str]] = [
    (re.compile(rb"^\s*#EXTM3U", re.I), "an HLS playlist (a list of links, not media)"),
    (re.compile(rb"^\s*ffconcat\s+version", re.I), "an ffmpeg concat list (a list of files, not media)"),
    (re.compile(rb"^\s*(file|include)\s+['\"]?[\w/.:~-]", re.I), "an ffmpeg concat list (a list of files, not media)"),
    (re.compile(rb"<svg[\s>]", re.I), "an SVG document (scriptable vector markup)"),
    (re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<script[\s>])", re.I), "an HTML page"),
    (re.compile(rb"^\s*<\?xml", re.I), "an XML document"),
    (re.compile(rb"^\s*[{\[]"), "JSON text"),
]


def _ftyp(head: bytes) -> tuple[bytes, set[bytes]] | None:
    """The major brand and compatible brands of an ISO-BMFF file (MP4, MOV, HEIC, AVIF)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    end = min(size if size >= 16 else 16, len(head))
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    return head[8:12], compatible


def _is_mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # An MPEG audio frame sync: 11 set bits, layer III, a valid bitrate index.
    return len(head) >= 3 and head[0] == 0xFF and (head[1] & 0xE6) == 0xE2 and (head[2] & 0xF0) != 0xF0


def sniff_bytes(head: bytes) -> Sniffed | None:
    """The allow-listed type of a file starting with ``head``, or None when it is none of them."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "gif", "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp", "image/webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "wav", "audio/wav")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi", "video/x-msvideo")
    brands = _ftyp(head)
    if brands is not None:
        major, compatible = brands
        every = {major} | compatible
        if every & _AVIF_BRANDS:
            return Sniffed("image", "avif", "image/avif")
        if major in _HEIC_BRANDS or (every & _HEIC_BRANDS and not every & _VIDEO_BRANDS):
            return Sniffed("image", "heic", "image/heic")
        if major in _AUDIO_BRANDS:
            return Sniffed("audio", "m4a", "audio/mp4")
        if every & _VIDEO_BRANDS:
            fmt = "mov" if major == b"qt  " else "mp4"
            return Sniffed("video", fmt, "video/quicktime" if fmt == "mov" else "video/mp4")
        return None
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        is_webm = b"webm" in head[:64]
        return Sniffed("video", "webm" if is_webm else "mkv", "video/webm" if is_webm else "video/x-matroska")
    if len(head) >= 3 * 188 and all(head[i] == 0x47 for i in (0, 188, 376)):
        return Sniffed("video", "mpegts", "video/mp2t")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "flac", "audio/flac")
    if head.startswith(b"OggS"):
        if b"theora" in head[:128] or b"\x01video" in head[:128]:
            return Sniffed("video", "ogv", "video/ogg")
        return Sniffed("audio", "ogg", "audio/ogg")
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return Sniffed("audio", "aac", "audio/aac")
    if _is_mp3(head):
        return Sniffed("audio", "mp3", "audio/mpeg")
    return None


def describe_unknown(head: bytes) -> str:
    """What refused bytes look like, for the failure reason."""
    if not head:
        return "the file is empty (0 bytes)"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "the file is a ZIP archive, not an image, video or audio file"
    if head.startswith(b"%PDF"):
        return "the file is a PDF document, not an image, video or audio file"
    stripped = head.lstrip(b"\xef\xbb\xbf")
    for pattern, what in _TEXT_SIGNS:
        if pattern.search(stripped[:1024]):
            return f"the file is {what}, not an image, video or audio file"
    if _looks_like_text(stripped):
        return "the file is text, not an image, video or audio file"
    return "the file is not in an allowed format (JPEG, PNG, GIF, WebP, AVIF, HEIC, MP4, MOV, WebM, MP3, AAC, ...)"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    return bool(sample) and all(b in b"\t\r\n" or 32 <= b < 127 or b >= 0x80 for b in sample)


def sniff_or_refuse(head: bytes) -> Sniffed:
    """``sniff_bytes`` or a PermanentError naming what the bytes are instead."""
    found = sniff_bytes(head)
    if found is None:
        raise PermanentError(f"unsupported file: {describe_unknown(head)}")
    return found


ZIP_END_RECORD = b"PK\x05\x06"
TAIL_BYTES = 22 + 65_535
"""A ZIP's end-of-central-directory record (22 bytes plus a comment of up to 64 KiB) sits in
this many bytes at the end of the file."""


def trailing_archive(tail: bytes) -> bool:
    """Whether the file ending in ``tail`` is also a ZIP archive (a JPEG/ZIP polyglot, say).

    ZIP readers find an archive from its end record, which must end exactly at the end of the
    file; matching that exact layout (not merely the 4-byte signature somewhere in compressed
    image data) keeps ordinary photos from being refused."""
    position = tail.rfind(ZIP_END_RECORD)
    while position != -1:
        if position + 22 <= len(tail):
            comment_length = int.from_bytes(tail[position + 20 : position + 22], "little")
            if position + 22 + comment_length == len(tail):
                return True
        position = tail.rfind(ZIP_END_RECORD, 0, position)
    return False
