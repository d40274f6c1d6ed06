"""Turning an uploaded file into plain text: plain text, Markdown, HTML and PDF.

The type is decided from the content first (a PDF starts with ``%PDF-``, HTML with a tag
such as ``<!doctype html>`` or ``<html>``), then from the file name's extension; bytes that
are not UTF-8 text and not a PDF are refused. HTML is reduced to its visible text with
Beautiful Soup (scripts, styles and templates dropped); PDF text comes from pypdf, page by
page, remembering the character offset where each page starts.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePath

from chatapp.errors import ApiError

#: What a client may send, by media type, with the extensions each is recognised by.
SUPPORTED = {
    "text/plain": (".txt", ".text", ".log", ".csv", ".rst"),
    "text/markdown": (".md", ".markdown"),
    "text/html": (".html", ".htm", ".xhtml"),
    "application/pdf": (".pdf",),
}
HTML_START = re.compile(rb"^\s*(<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
PAGE_SEPARATOR = "\n\n"


@dataclass
class Extracted:
    """The text of a document, its media type, and where each PDF page starts."""

    text: str
    mime_type: str
    pages: list[int] | None = None


def unsupported(name: str | None) -> ApiError:
    """The 415 for a file that is none of the supported types."""
    kinds = ", ".join(sorted(SUPPORTED))
    return ApiError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        f"{name or 'This file'} is not a supported type. Upload one of: {kinds}.",
        details=[{"field": "file", "message": kinds, "code": "supported_types"}],
    )


def detect(data: bytes, name: str | None) -> str:
    """Return the media type of ``data`` (named ``name``), or raise 415."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    suffix = PurePath(name or "").suffix.lower()
    if suffix == ".pdf":
        raise unsupported(name)  # claims to be a PDF but is not one
    if not _is_text(data):
        raise unsupported(name)
    if HTML_START.match(data[:1024]) or suffix in SUPPORTED["text/html"]:
        return "text/html"
    if suffix in SUPPORTED["text/markdown"]:
        return "text/markdown"
    if suffix in SUPPORTED["text/plain"] or not suffix:
        return "text/plain"
    raise unsupported(name)


def _is_text(data: bytes) -> bool:
    """Whether ``data`` is UTF-8 text (no NUL bytes)."""
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def extract(data: bytes, name: str | None) -> Extracted:
    """Detect the type of ``data`` and return its text; 415 or 422 when it has none."""
    mime = detect(data, name)
    if mime == "application/pdf":
        result = pdf_text(data, name)
    elif mime == "text/html":
        result = Extracted(html_text(data.decode("utf-8")), mime)
    else:
        result = Extracted(normalise_text(data.decode("utf-8-sig")), mime)
    if not result.text.strip():
        hint = " (a scanned PDF holds only images)" if mime == "application/pdf" else ""
        message = f"{name or 'The document'} has no text to index{hint}."
        raise ApiError(422, "EMPTY_DOCUMENT", message, error="No text")
    return result


def normalise_text(text: str) -> str:
    """Unify line endings and strip trailing spaces, keeping paragraphs."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_text(markup: str) -> str:
    """The visible text of an HTML page, one block per paragraph."""
    # Imported here, like pypdf below: every app process starts faster without them.
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "template", "noscript", "head"]):
        tag.decompose()
    return normalise_text(soup.get_text("\n"))


def pdf_text(data: bytes, name: str | None) -> Extracted:
    """The text of a PDF, page after page, with the offset where each page starts."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        texts = [normalise_text(page.extract_text() or "") for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ApiError(
            422, "UNREADABLE_PDF", f"{name or 'The PDF'} could not be read: {exc}", error="Bad PDF"
        ) from exc
    pages: list[int] = []
    text = ""
    for page_text in texts:
        if text:
            text += PAGE_SEPARATOR
        pages.append(len(text))
        text += page_text
    return Extracted(text, "application/pdf", pages)
