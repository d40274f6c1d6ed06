"""What an uploaded file is, decided from its bytes, never from its name.

Images are decoded by Pillow (pillow-heif for HEIC/HEIF) before they are accepted: a GIF
becomes a PNG of its first frame, a HEIC/HEIF photo a JPEG (both formats the model and
every browser read). Location data is removed: an image whose EXIF holds a GPS block, or
that carries XMP metadata (which may hold it too), is re-encoded without them (JPEG with
its own quantisation tables, so it barely changes); other images are stored byte for byte.
The EXIF orientation tag is kept, so a photo still displays the right way up.

A PDF must open in pypdf. Text is UTF-8 without NUL bytes, named with one of the text
extensions (or none); its media type comes from the extension among text types only, so
HTML, SVG and XML are kept as ``text/plain``. Anything else is a 415 listing what is taken.

A file that is two things at once (a polyglot) is what it first decodes as, in the order
image, PDF, text; it is stored and served only as that type.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePath

import pillow_heif
from flask import current_app
from PIL import Image, UnidentifiedImageError

from chatapp.errors import ApiError

pillow_heif.register_heif_opener()

# Pillow format name -> (stored media type, Pillow format it is stored as, extension).
IMAGE_FORMATS = {
    "PNG": ("image/png", "PNG", ".png"),
    "JPEG": ("image/jpeg", "JPEG", ".jpg"),
    "WEBP": ("image/webp", "WEBP", ".webp"),
    "GIF": ("image/png", "PNG", ".png"),
    "HEIF": ("image/jpeg", "JPEG", ".jpg"),
}
# Text extensions and the media type each is stored as; markup is kept as plain text.
TEXT_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".log": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".py": "text/x-python",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".ts": "text/x-typescript",
    ".css": "text/css",
    ".java": "text/x-java",
    ".c": "text/x-c",
    ".h": "text/x-c",
    ".cpp": "text/x-c++",
    ".hpp": "text/x-c++",
    ".cs": "text/x-csharp",
    ".go": "text/x-go",
    ".rs": "text/x-rust",
    ".rb": "text/x-ruby",
    ".php": "text/x-php",
    ".kt": "text/x-kotlin",
    ".swift": "text/x-swift",
    ".sh": "text/x-shellscript",
    ".sql": "text/x-sql",
    ".yaml": "text/yaml",
    ".yml": "text/yaml",
    ".toml": "text/plain",
    ".ini": "text/plain",
    ".html": "text/plain",
    ".htm": "text/plain",
    ".xml": "text/plain",
    ".svg": "text/plain",
}
SUPPORTED = "PNG, JPEG, WEBP, HEIC/HEIF, GIF (first frame, as PNG), PDF, " + ", ".join(
    sorted({ext.lstrip(".") for ext in TEXT_TYPES})
)
GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Orientations that turn the picture a quarter: width and height swap on display.
QUARTER_TURNS = {5, 6, 7, 8}


@dataclass
class Inspected:
    """An accepted file: the bytes to store, their media type, name and image size."""

    data: bytes
    mime_type: str
    name: str
    width: int | None = None
    height: int | None = None


def unsupported(name: str) -> ApiError:
    """The 415 for a file that is none of the supported types."""
    return ApiError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        f"{name} is not a supported type. Upload one of: {SUPPORTED}.",
        details=[{"field": "file", "message": SUPPORTED, "code": "supported_types"}],
    )


def inspect(data: bytes, name: str) -> Inspected:
    """Decide what ``data`` (uploaded as ``name``) is, and return what to store; or raise
    400 (empty), 413 (too many pixels), 415 (unsupported) or 422 (a damaged PDF)."""
    if not data:
        raise ApiError(400, "EMPTY_FILE", f"{name} is empty (0 bytes); choose another file.")
    image = _open_image(data, name)
    if image is not None:
        with image:
            return _image(image, data, name)
    if data.startswith(b"%PDF-"):
        return _pdf(data, name)
    return _text(data, name)


def _open_image(data: bytes, name: str) -> Image.Image | None:
    """The image in ``data`` (header read only), None if it is not one of ours, or 413."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow's own limit (twice its warning size); the warning is raised only where
        # warnings are errors (the tests); elsewhere FILES_MAX_PIXELS below refuses it.
        raise _too_many_pixels(name) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    limit = current_app.config["FILES_MAX_PIXELS"]
    if image.width * image.height > limit:
        image.close()
        raise _too_many_pixels(name)
    return image


def _too_many_pixels(name: str) -> ApiError:
    """The 413 for an image with more pixels than ``FILES_MAX_PIXELS``."""
    limit = current_app.config["FILES_MAX_PIXELS"]
    return ApiError(
        413,
        "IMAGE_TOO_LARGE",
        f"{name} has more than {limit} pixels; scale it down or ask the operator to raise "
        "FILES_MAX_PIXELS.",
    )


def _image(image: Image.Image, data: bytes, name: str) -> Inspected:
    """Decode the whole image (refusing a broken one) and return what to store."""
    source = image.format or ""
    mime, target, extension = IMAGE_FORMATS[source]
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise unsupported(name) from None
    exif = image.getexif()
    located = GPS_IFD in exif or bool(image.info.get("xmp"))
    if source != target or located:
        exif.pop(GPS_IFD, None)
        lossless = source == "WEBP" and data[12:16] == b"VP8L"
        data = _encode(image, target, exif, keep_quality=source == "JPEG", lossless=lossless)
    width, height = image.size
    if exif.get(ORIENTATION) in QUARTER_TURNS:
        width, height = height, width
    return Inspected(data, mime, _renamed(name, extension), width, height)


def _encode(
    image: Image.Image, target: str, exif: Image.Exif, keep_quality: bool, lossless: bool
) -> bytes:
    """``image`` written as ``target`` with only ``exif`` (and its colour profile) for
    metadata."""
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()} if len(exif) else {}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if target == "JPEG" and keep_quality:
        options.update(quality="keep", subsampling="keep")
    elif target == "JPEG":
        options["quality"] = 90
        image = image.convert("RGB")
    elif target == "WEBP":
        options.update(lossless=lossless, quality=90)
    elif image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(out, target, **options)
    return out.getvalue()


def _renamed(name: str, extension: str) -> str:
    """``name`` with ``extension`` unless it already has one for the same type."""
    path = PurePath(name)
    same = {".jpg": {".jpg", ".jpeg"}}.get(extension, {extension})
    return name if path.suffix.lower() in same else f"{path.stem or 'image'}{extension}"


def _pdf(data: bytes, name: str) -> Inspected:
    """A PDF that pypdf opens, with at least one page; 422 when it cannot be read."""
    from pypdf import PdfReader  # imported here: most app processes never need it
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ApiError(
            422, "UNREADABLE_PDF", f"{name} could not be read as a PDF: {exc}", error="Bad PDF"
        ) from exc
    if reader.is_encrypted or pages == 0:
        raise ApiError(
            422,
            "UNREADABLE_PDF",
            f"{name} is encrypted or has no pages; save it without a password and try again.",
            error="Bad PDF",
        )
    return Inspected(data, "application/pdf", _renamed(name, ".pdf"))


def _text(data: bytes, name: str) -> Inspected:
    """UTF-8 text without NUL bytes, named as a text file (or with no extension)."""
    suffix = PurePath(name).suffix.lower()
    if (suffix and suffix not in TEXT_TYPES) or b"\x00" in data:
        raise unsupported(name)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise unsupported(name) from None
    return Inspected(data, TEXT_TYPES.get(suffix, "text/plain"), name)
