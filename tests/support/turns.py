"""What a chat turn sent to the wire server, and what was stored of it."""

from __future__ import annotations

from chatapp.gemini import SUMMARY_PROMPT, TITLE_PROMPT
from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer, Recorded


def is_title(record: Recorded) -> bool:
    """Whether a request is the automatic-title prompt rather than a chat turn."""
    contents = (record.body or {}).get("contents") or [{}]
    return (contents[0].get("parts") or [{}])[0].get("text", "").startswith(TITLE_PROMPT)


def is_summary(record: Recorded) -> bool:
    """Whether a request asks for a summary of a conversation's older turns."""
    instruction = (record.body or {}).get("systemInstruction") or {}
    text = (instruction.get("parts") or [{}])[0].get("text", "")
    return text.startswith(SUMMARY_PROMPT.split("{", 1)[0])


GENERATE = ("generateContent", "streamGenerateContent")


def turns(server: GeminiWireServer) -> list[Recorded]:
    """The chat-turn requests the server received (streamed or not), oldest first."""
    return [
        r
        for r in server.requests
        if r.method_name in GENERATE and not is_title(r) and not is_summary(r)
    ]


def summary_requests(server: GeminiWireServer) -> list[Recorded]:
    """The requests for a summary of older turns the server received, oldest first."""
    return [r for r in server.requests if r.method_name in GENERATE and is_summary(r)]


def contents(record: Recorded) -> list[tuple[str, str]]:
    """``(role, text)`` of each content of a recorded request."""
    return [(c["role"], c["parts"][0]["text"]) for c in record.body["contents"]]


def stored_turns(user: ApiUser, session_id: str) -> list[tuple[str, str]]:
    """The conversation as stored, in the model's role names, failed messages left out."""
    messages = user.session(session_id, limit=200).json["messages"]
    roles = {"user": "user", "assistant": "model"}
    return [(roles[m["role"]], m["content"]) for m in messages if m["status"] != "failed"]
