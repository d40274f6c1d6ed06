"""Citation markers ``[n]`` in a reply: find, remove the dead ones, insert web ones.

``[n]`` means ``sources[n-1]``. Markers are only read outside code (fenced blocks and
inline code spans), so ``items[1]`` in a code sample is never a citation, and never a
marker when it is followed by ``(`` (a Markdown link such as ``[1](https://…)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

MARKER = re.compile(r"\[(\d{1,4})\](?!\()")
# A marker with the spaces before it, so a removed one leaves no gap ("too [9]." → "too.").
SPACED_MARKER = re.compile(r"[ \t]*\[(\d{1,4})\](?!\()")
# Fenced code blocks (``` or ~~~, to the closing fence or the end) and inline code spans.
CODE = re.compile(r"(^|\n)(```|~~~)[^\n]*\n.*?(\n\2[^\n]*(?=\n|$)|$)|(`+)[^`]*?\4", re.DOTALL)


def _outside_code(
    text: str, replace: Callable[[re.Match[str]], str], marker: re.Pattern[str] = MARKER
) -> str:
    """Apply ``replace`` to every marker of ``text`` that is not inside code."""
    parts: list[str] = []
    last = 0
    for code in CODE.finditer(text):
        parts.append(marker.sub(replace, text[last : code.start()]))
        parts.append(code.group(0))
        last = code.end()
    parts.append(marker.sub(replace, text[last:]))
    return "".join(parts)


def clean(text: str, count: int) -> tuple[str, int]:
    """Remove markers that resolve to no source (``count`` sources); return text and removed."""
    removed = 0

    def keep_or_drop(match: re.Match[str]) -> str:
        nonlocal removed
        if 1 <= int(match.group(1)) <= count:
            return match.group(0)
        removed += 1
        return ""

    return _outside_code(text, keep_or_drop, SPACED_MARKER), removed


def cited(text: str) -> set[int]:
    """The source numbers ``text`` refers to."""
    found: set[int] = set()

    def note(match: re.Match[str]) -> str:
        found.add(int(match.group(1)))
        return match.group(0)

    _outside_code(text, note)
    return found


def link(text: str, count: int, anchor: Callable[[int], str]) -> str:
    """Replace each valid marker by ``anchor(n)`` (used on text before Markdown rendering)."""

    def replace(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return anchor(number) if 1 <= number <= count else match.group(0)

    return _outside_code(text, replace)


def insert_at(text: str, supports: Iterable[tuple[int, list[int]]], offset: int) -> str:
    """Insert ``[offset + i + 1]`` markers for each ``(byte end, chunk indices)`` support.

    Gemini reports a supported segment's end as a UTF-8 byte offset into the reply.
    """
    data = text.encode()
    inserts: dict[int, list[int]] = {}
    for end, indices in supports:
        chars = len(data[: max(0, end)].decode(errors="ignore"))
        inserts.setdefault(chars, []).extend(offset + index + 1 for index in indices)
    for position in sorted(inserts, reverse=True):
        numbers = dict.fromkeys(inserts[position])
        marks = "".join(f"[{number}]" for number in numbers)
        text = text[:position] + marks + text[position:]
    return text
