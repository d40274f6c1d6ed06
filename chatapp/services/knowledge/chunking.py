"""Cutting a document's text into overlapping, paragraph-aware passages.

Paragraphs (blank-line separated) are packed into chunks of about ``size`` characters; a
paragraph longer than that is cut at sentence or word boundaries. Each chunk after the first
starts ``overlap`` characters (rounded to a word boundary) before the previous one ended, so
a sentence cut at a boundary is still found whole in one of them. A last piece smaller than
a fifth of ``size`` is merged into the chunk before it. Every chunk keeps its character
offsets in the document's text, and its PDF page.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", re.DOTALL)
BREAKS = ("\n", ". ", "! ", "? ", "; ", ", ", " ")


@dataclass(frozen=True)
class Piece:
    """A passage of a document: its text and where it sits."""

    text: str
    start: int
    end: int
    page: int | None = None


def chunk_text(text: str, size: int, overlap: int, pages: list[int] | None = None) -> list[Piece]:
    """Cut ``text`` into chunks of about ``size`` characters overlapping by ``overlap``."""
    size = max(size, 50)
    overlap = max(0, min(overlap, size // 2))
    spans = _spans(text, size)
    pieces = _with_overlap(text, spans, overlap)
    return [Piece(text[s:e], s, e, page_of(s, pages)) for s, e in pieces]


def _spans(text: str, size: int) -> list[tuple[int, int]]:
    """Pack paragraphs into spans of at most ``size`` characters (before overlap)."""
    spans: list[tuple[int, int]] = []
    for start, end in _paragraph_pieces(text, size):
        if spans and end - spans[-1][0] <= size:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < size // 5:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1])
    return spans


def _paragraph_pieces(text: str, size: int) -> list[tuple[int, int]]:
    """Each paragraph's span, long ones cut into pieces of at most ``size``."""
    pieces: list[tuple[int, int]] = []
    for match in PARAGRAPH.finditer(text):
        start, end = match.span()
        while end - start > size:
            cut = _cut(text, start, start + size)
            pieces.append((start, cut))
            start = _skip_space(text, cut, end)
        if start < end:
            pieces.append((start, end))
    return pieces


def _cut(text: str, start: int, limit: int) -> int:
    """The best place to end a piece in ``text[start:limit]``: a line, sentence or word end."""
    window = text[start:limit]
    for mark in BREAKS:
        at = window.rfind(mark)
        if at > len(window) // 2:
            return start + at + len(mark.rstrip() or mark)
    return limit


def _skip_space(text: str, at: int, end: int) -> int:
    """The first non-space position at or after ``at`` (at most ``end``)."""
    while at < end and text[at].isspace():
        at += 1
    return at


def _with_overlap(text: str, spans: list[tuple[int, int]], overlap: int) -> list[tuple[int, int]]:
    """Start each span (after the first) ``overlap`` characters earlier, at a word start."""
    if not overlap:
        return spans
    result = spans[:1]
    for start, end in spans[1:]:
        begin = max(result[-1][0] + 1, start - overlap)
        space = text.find(" ", begin, start)
        if 0 <= space < start:
            begin = _skip_space(text, space, start)
        result.append((begin, end))
    return result


def page_of(offset: int, pages: list[int] | None) -> int | None:
    """The 1-based page holding character ``offset``, given where each page starts."""
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))
