"""A conversation as a Markdown document a person reads (not meant to be imported)."""

from __future__ import annotations

from datetime import datetime

from chatapp.schemas.retrieval import Source
from chatapp.schemas.transfer import ExportedConversation, ExportedMessage
from chatapp.services.chat.paths import walk

SPEAKERS = {"user": "You", "assistant": "Assistant"}


def when(moment: datetime) -> str:
    """A timestamp as a reader sees it: ``2026-11-27 15:04 UTC``."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def quoted(text: str) -> str:
    """``text`` as a Markdown block quote."""
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines() or [""])


def document(conversation: ExportedConversation) -> str:
    """The conversation: title, dates, personality, then each message of its active path."""
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"- Started: {when(conversation.createdAt)}")
    lines.append(f"- Last active: {when(conversation.updatedAt)}")
    personality = conversation.personality
    if personality is not None:
        lines.append(f"- Personality: {personality.name or 'custom'}")
        lines += ["", quoted(personality.systemPrompt)]
    for number in walk(conversation.parents(), conversation.activeMessage):
        lines += ["", "---", "", *message_lines(conversation.messages[number])]
    return "\n".join(lines) + "\n"


def message_lines(message: ExportedMessage) -> list[str]:
    """One message: who and when, its text, its status if not complete, its sources."""
    heading = f"## {SPEAKERS[message.role]} · {when(message.createdAt)}"
    if message.model:
        heading += f" · {message.model}"
    lines = [heading, "", message.content]
    if message.status != "complete":
        reason = f" ({message.errorCode})" if message.errorCode else ""
        lines += ["", f"*{message.status.capitalize()}{reason}*"]
    if message.sources:
        lines += ["", "Sources:", ""]
        lines += [source_line(source) for source in message.sources]
    return lines


def source_line(source: Source) -> str:
    """One source as a numbered list item, linked when it has a URL."""
    title = source.title or "Untitled"
    return f"{source.index}. [{title}]({source.url})" if source.url else f"{source.index}. {title}"
