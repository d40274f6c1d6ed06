"""Files in a prompt: how they are sent, what they cost when the model cannot say, and
how the offline model describes them.

Images (PNG, JPEG, WEBP) and PDFs are sent as they are stored; every text-like file is sent
as ``text/plain`` (the media type Gemini takes for any text), its name kept by chatapp.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from chatapp.gemini.base import Attachment, estimate_tokens

# Types the model takes as they are; anything else chatapp stores is text.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf"})
# Gemini 2.x: an image up to 384 pixels both ways is 258 tokens; a larger one is cut in
# 768-pixel tiles of 258 tokens each; a PDF page is 258 tokens.
TILE_TOKENS = 258
SMALL_SIDE = 384
TILE_SIDE = 768


def wire_mime(mime_type: str) -> str:
    """The media type a stored file is sent as."""
    return mime_type if mime_type in INLINE_TYPES else "text/plain"


def inline_part(mime_type: str, data: bytes) -> dict[str, Any]:
    """One file as a wire-form ``inlineData`` part."""
    encoded = base64.b64encode(data).decode("ascii")
    return {"inlineData": {"mimeType": wire_mime(mime_type), "data": encoded}}


def image_size(data: bytes) -> tuple[int, int] | None:
    """An image's width and height from its header (no pixel decoded), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def pdf_pages(data: bytes) -> int | None:
    """How many pages a PDF has, or None if it cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError):
        return None


def estimate_file_tokens(mime_type: str, data: bytes) -> int:
    """A deterministic estimate of a file's tokens (Gemini 2.x rules): the offline model's
    count, and the fallback when the model's count fails."""
    if mime_type.startswith("image/"):
        size = image_size(data)
        if size is None:
            return TILE_TOKENS
        width, height = size
        if width <= SMALL_SIDE and height <= SMALL_SIDE:
            return TILE_TOKENS
        return math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE) * TILE_TOKENS
    if mime_type == "application/pdf":
        return TILE_TOKENS * (pdf_pages(data) or 1)
    return estimate_tokens(data.decode("utf-8", "replace"))


def describe(attachment: Attachment) -> str:
    """One line about a file, as the offline model reports what it received."""
    detail = f"{attachment.mime_type}, {attachment.tokens} token(s)"
    data = attachment.data
    if attachment.mime_type.startswith("image/"):
        size = image_size(data)
        if size is not None:
            detail = f"image {size[0]}x{size[1]}, {detail}"
    elif attachment.mime_type == "application/pdf":
        pages = pdf_pages(data)
        if pages is not None:
            detail = f"PDF, {pages} page(s), {detail}"
    else:
        lines = data.decode("utf-8", "replace").count("\n") + (not data.endswith(b"\n"))
        detail = f"text, {lines} line(s), {detail}"
    return f"- {attachment.name} ({detail})"
