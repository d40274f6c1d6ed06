"""Files for the attachment tests: real images built with Pillow, and API helpers."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# A place (Berlin) written into test photos' EXIF and XMP.
GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
XMP_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>52,31.2N</exif:GPSLatitude></x:xmpmeta>'
)


def image_bytes(
    fmt: str, size: tuple[int, int] = (40, 20), color: str = "red", **save: Any
) -> bytes:
    """An image of one colour in Pillow format ``fmt`` (``HEIF`` needs pillow-heif)."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def photo_with_location(fmt: str = "JPEG", orientation: int = 6) -> bytes:
    """A photo whose EXIF holds a GPS position and an orientation, and whose XMP names the
    place too (JPEG)."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = GPS
    extra = {"xmp": XMP_GPS} if fmt == "JPEG" else {}
    return image_bytes(fmt, exif=exif.tobytes(), icc_profile=srgb_profile(), **extra)


def srgb_profile() -> bytes:
    """An sRGB ICC colour profile."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def animated_gif() -> bytes:
    """A two-frame GIF: red, then blue."""
    out = io.BytesIO()
    frames = [Image.new("RGB", (16, 8), color) for color in ("red", "blue")]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but holds none (a bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def upload_file(user: Any, name: str, data: bytes) -> Any:
    """Upload a file to attach to messages, as ``user`` (multipart)."""
    form = {"file": (io.BytesIO(data), name)}
    return user.call("POST", "/api/v1/files", data=form, content_type="multipart/form-data")


def opened(data: bytes) -> Image.Image:
    """The image in ``data``, decoded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
