"""Image inputs for the content tests, made in memory: photos, animations and hostile files."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import ExifTags, Image, ImageCms, ImageDraw


def photo(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """Photo-like content (gradients, shapes, noise), not a flat colour a codec would trivialise."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 48)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(image)
    for index in range(8):
        x = (seed * 97 + index * 131) % width
        y = (seed * 53 + index * 71) % height
        draw.ellipse((x, y, x + width // 6, y + height // 6), fill=(255 - 30 * index, 40 * index % 255, 90))
    return image


def jpeg_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


GPS_LATITUDE = (52.0, 13.0, 26.0)
XMP_PACKET = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF><rdf:Description>secret-xmp-location</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def gps_photo(width: int = 800, height: int = 600, orientation: int = 6) -> bytes:
    """A JPEG carrying every metadata block: EXIF with GPS and orientation, XMP, a comment, ICC."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "OdysseyCam"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return jpeg_bytes(
        photo(width, height), exif=exif.tobytes(), xmp=XMP_PACKET, comment=b"shot at home", icc_profile=icc
    )


def animated_gif(frames: int = 6, width: int = 96, height: int = 64) -> bytes:
    images = []
    for index in range(frames):
        frame = Image.new("RGB", (width, height), (20, 20, 20))
        ImageDraw.Draw(frame).rectangle((index * 10, 10, index * 10 + 20, 40), fill=(240, 200, 30))
        images.append(frame.convert("P"))
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring width x height RGB pixels, with a few hundred bytes of data:
    decoding it would need width*height*4 bytes (40 GB at the default size)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * min(width, 1000)) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def gif_huge_screen(width: int = 65_535, height: int = 65_535) -> bytes:
    """A GIF whose logical screen is width x height, holding one 1x1 image."""
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    data = b"\x02\x02\x44\x01\x00"  # LZW min code size 2, one sub-block, terminator
    return header + descriptor + data + b"\x3b"


def gif_giant_later_frame() -> bytes:
    """A 10x10 GIF whose second frame declares 60 000 x 60 000: Pillow would grow the canvas."""
    header = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    small = b"\x2c" + struct.pack("<HHHHB", 0, 0, 10, 10, 0) + b"\x02\x02\x44\x01\x00"
    giant = b"\x2c" + struct.pack("<HHHHB", 0, 0, 60_000, 60_000, 0) + b"\x02\x02\x44\x01\x00"
    return header + small + giant + b"\x3b"


def truncated_jpeg() -> bytes:
    data = jpeg_bytes(photo(640, 480))
    return data[: len(data) // 2]


HTML_AS_JPG = b"<!DOCTYPE html><html><head><script>alert(document.cookie)</script></head><body></body></html>"
SVG_AS_JPG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)


def jpeg_zip_polyglot() -> bytes:
    """A real JPEG with a real ZIP appended: image viewers show the photo, unzip extracts the payload."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.html", "<script>steal()</script>")
    return jpeg_bytes(photo(320, 240)) + archive.getvalue()


def swapped_red_blue_profile() -> bytes:
    """A valid RGB ICC profile whose red and blue primaries are swapped: a colour-managed
    decoder turns (200, 100, 50) into about (50, 100, 200); ignoring the profile does not."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", data[128:132])[0]
    entries = {}
    for index in range(count):
        start = 132 + 12 * index
        entries[bytes(data[start : start + 4])] = start
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = data[blue + 4 : blue + 12], data[red + 4 : red + 12]
    data[84:100] = b"\x00" * 16  # the profile id (an MD5 of the content) no longer matches: clear it
    return bytes(data)
