"""Reading an import file as a stream: what kind of file it is, then its conversations.

The file is read twice, never whole into memory (ijson): once to check that it is valid
JSON of a known shape (a chatapp export, or ChatGPT's ``conversations.json``), so a
truncated or foreign file is refused before anything is imported; then once more to
import its conversations one at a time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

from chatapp.errors import ApiError
from chatapp.schemas.transfer import EXPORT_FORMAT, EXPORT_VERSION

CHATAPP = "chatapp"
CHATGPT = "chatgpt"
# Where the conversations are in each kind of file (ijson prefixes).
ITEMS = {CHATAPP: "conversations.item", CHATGPT: "item"}
STARTS = {"start_map", "start_array", "string", "number", "boolean", "null"}
EXPECTED = (
    "Expected a chatapp export (a JSON object with "
    f'"format": "{EXPORT_FORMAT}") or ChatGPT\'s conversations.json (a JSON array).'
)


def invalid_file(reason: str) -> ApiError:
    """The 400 for a file that is not an export at all: nothing is imported."""
    return ApiError(400, "INVALID_IMPORT_FILE", reason, error="Not an export file")


# yajl (ijson's C backend) parses fast but stops at integers past 64 bits, which JSON allows;
# a file holding one is read with ijson's slower pure-Python parser instead.
FAST = ijson
EXACT = ijson.get_backend("python")


@dataclass
class Plan:
    """What a checked file holds: its kind, its format version, how many conversations,
    and the parser that reads it."""

    source: str
    version: int
    count: int = 0
    parser: Any = FAST


def inspect(file: IO[bytes]) -> Plan:
    """Read the whole file once and say what it holds; 400 if it is not an export."""
    if file.seek(0, io.SEEK_END) == 0:
        raise invalid_file(f"The file is empty. {EXPECTED}")
    try:
        return _checked(file, FAST)
    except ijson.JSONError as exc:
        if "integer overflow" not in _parser_message(exc):
            raise invalid_file(f"The file is not valid JSON: {_parser_message(exc)}.") from None
    try:
        return _checked(file, EXACT)
    except ijson.JSONError as exc:
        raise invalid_file(f"The file is not valid JSON: {_parser_message(exc)}.") from None


def _checked(file: IO[bytes], parser: Any) -> Plan:
    """Parse the whole file once with ``parser`` and return what it holds."""
    file.seek(0)
    try:
        plan = _shape(parser.parse(file, use_float=True))
    finally:
        file.seek(0)
    plan.parser = parser
    return plan


def _parser_message(exc: Exception) -> str:
    """The first line of the JSON parser's complaint (yajl gives it as bytes)."""
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail).strip().splitlines()[0] if str(detail).strip() else "it ends early"


def _shape(events: Iterator[tuple[str, str, Any]]) -> Plan:
    """Follow the parser's events: the top level, the format marker, the conversations."""
    first = next(events)
    if first[1] == "start_array":
        return Plan(CHATGPT, 0, _count(events, "item"))
    if first[1] != "start_map":
        raise invalid_file(f"The file holds a single JSON value. {EXPECTED}")
    top: dict[str, Any] = {}
    count = 0
    for prefix, event, value in events:
        if prefix in ("format", "version", "conversations") and event in STARTS:
            top[prefix] = value if event != "start_array" else []
        elif prefix == "conversations.item" and event in STARTS:
            count = _counted(count, event)
    return Plan(CHATAPP, _version(top), count)


def _count(events: Iterator[tuple[str, str, Any]], prefix: str) -> int:
    """How many items of the array at ``prefix`` the events hold (each must be an object)."""
    count = 0
    for at, event, _ in events:
        if at == prefix and event in STARTS:
            count = _counted(count, event)
    return count


def _counted(count: int, event: str) -> int:
    """One more conversation, which must be a JSON object."""
    if event != "start_map":
        raise invalid_file(f"Conversation {count + 1} is not a JSON object. {EXPECTED}")
    return count + 1


def _version(top: dict[str, Any]) -> int:
    """The format version of a chatapp export's top level; 400 for anything else."""
    if top.get("format") != EXPORT_FORMAT:
        found = f"format is {top['format']!r}" if "format" in top else "there is no format"
        raise invalid_file(f"Not a chatapp export: {found}. {EXPECTED}")
    version = top.get("version")
    if isinstance(version, float) and version.is_integer():
        version = int(version)  # 1.0 is the integer 1, as JSON Schema says
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise invalid_file(f"version must be a whole number from 1, not {version!r}.")
    if version > EXPORT_VERSION:
        raise invalid_file(
            f"This export is version {version}; this server reads versions 1 to "
            f"{EXPORT_VERSION}. Update chatapp, then import it."
        )
    if top.get("conversations") != []:
        raise invalid_file("conversations must be a JSON array of conversations.")
    return version


def conversations(file: IO[bytes], plan: Plan) -> Iterator[Any]:
    """Each conversation of a checked file, parsed one at a time."""
    file.seek(0)
    yield from plan.parser.items(file, ITEMS[plan.source], use_float=True)
