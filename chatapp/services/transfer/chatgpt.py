"""ChatGPT's ``conversations.json``: each conversation's message tree, flattened.

A conversation is a tree (``mapping`` of nodes with ``parent`` and ``children``): every
edit or regeneration starts a branch. The branch the user last saw ends at
``current_node``; it is followed up through ``parent`` to the root and reversed. System
messages and those ChatGPT hides are left out; tool output (code results, images, web
pages) becomes part of the assistant's reply, and what cannot be imported (an image, an
audio clip) is named in the text where it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chatapp.schemas.transfer import ExportedConversation, ExportedMessage

# Content ChatGPT never shows in the conversation (custom instructions, hidden reasoning).
HIDDEN = {"user_editable_context", "model_editable_context", "thoughts", "reasoning_recap"}
INTERRUPTED = {"in_progress", "finished_partial_completion"}


class ConversionError(ValueError):
    """A conversation of the file that cannot be read: the message says why."""


def convert(raw: Any) -> ExportedConversation:
    """One ChatGPT conversation as a chatapp conversation (``ConversionError`` if not one)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("mapping"), dict):
        raise ConversionError("Not a ChatGPT conversation: it has no 'mapping' object.")
    created = instant(raw.get("create_time"))
    if created is None:
        raise ConversionError("The conversation has no create_time.")
    messages = merged(branch_messages(raw["mapping"], raw.get("current_node"), created))
    title = raw.get("title") if isinstance(raw.get("title"), str) else None
    return ExportedConversation(
        title=(title.strip()[:200] or None) if title else None,
        titleSetByUser=bool(title),
        createdAt=created,
        updatedAt=instant(raw.get("update_time")) or created,
        messages=messages,
    )


def instant(value: Any) -> datetime | None:
    """A ChatGPT timestamp (seconds since the epoch, a float) as a UTC instant."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):  # far outside any real conversation
        return None


def branch(mapping: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The nodes from the root to ``current_node`` (or, without one, along last children)."""
    if not isinstance(current, str) or current not in mapping:
        current = _last_leaf(mapping)
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    while isinstance(current, str) and current in mapping and current not in seen:
        seen.add(current)
        node = mapping[current]
        if not isinstance(node, dict):
            break
        path.append(node)
        current = node.get("parent")
    return path[::-1]


def _last_leaf(mapping: dict[str, Any]) -> str | None:
    """The end of the newest branch: from a root, always the last child."""
    roots = [k for k, node in mapping.items() if isinstance(node, dict) and not node.get("parent")]
    current = roots[0] if roots else None
    for _ in range(len(mapping)):
        children = (mapping.get(current) or {}).get("children") or []
        if not children or children[-1] not in mapping:
            break
        current = children[-1]
    return current


def branch_messages(
    mapping: dict[str, Any], current: Any, created: datetime
) -> list[ExportedMessage]:
    """The visible messages of the current branch; a message without a time takes the
    time of the one before it."""
    messages = []
    last = created
    for node in branch(mapping, current):
        message = visible_message(node.get("message"), last)
        if message is not None:
            messages.append(message)
            last = message.createdAt
    return messages


def visible_message(message: Any, fallback: datetime) -> ExportedMessage | None:
    """One node's message as ours, or None for one ChatGPT does not show."""
    if not isinstance(message, dict):
        return None
    role = (message.get("author") or {}).get("role")
    metadata = message.get("metadata") or {}
    content = message.get("content") or {}
    if role not in ("user", "assistant", "tool") or not isinstance(content, dict):
        return None
    hidden = metadata.get("is_visually_hidden_from_conversation")
    if hidden or content.get("content_type") in HIDDEN:
        return None
    text = content_text(content, message.get("recipient")).strip()
    if not text:
        return None
    assistant = role != "user"
    return ExportedMessage(
        role="assistant" if assistant else "user",
        content=text,
        createdAt=instant(message.get("create_time")) or fallback,
        status="interrupted" if message.get("status") in INTERRUPTED else "complete",
        model=(metadata.get("model_slug") or None) if assistant else None,
    )


def content_text(content: dict[str, Any], recipient: Any = None) -> str:
    """The text of a message's content; what is not text is named in brackets."""
    kind = content.get("content_type")
    text = content.get("text") if isinstance(content.get("text"), str) else ""
    if kind == "code":
        target = f" (sent to {recipient})" if recipient not in (None, "all") else ""
        language = content.get("language") or ""
        language = "" if language == "unknown" else language
        return f"[Code{target}]\n```{language}\n{text}\n```"
    if kind == "execution_output":
        return f"[Code output]\n```\n{text}\n```"
    if kind == "tether_quote":
        source = content.get("title") or content.get("url") or "a web page"
        return f"[Quoted from {source}: {content.get('url') or ''}]\n\n{text}"
    if kind == "tether_browsing_display":
        return f"[Web browsing: {content.get('summary') or content.get('result') or ''}]"
    if kind == "system_error":
        return f"[Error: {content.get('name') or 'tool error'}: {text}]"
    if isinstance(content.get("parts"), list):
        return "\n\n".join(part_text(part) for part in content["parts"])
    return text or f"[{kind or 'Unknown'} content not imported]"


def part_text(part: Any) -> str:
    """One part of a message: text as is, anything else named."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    kind = part.get("content_type") or "attachment"
    if kind == "audio_transcription":
        return str(part.get("text") or "")
    if kind == "image_asset_pointer":
        size = f", {part['width']}x{part['height']}" if part.get("width") else ""
        return f"[Image not imported: {part.get('asset_pointer') or 'image'}{size}]"
    return f"[{kind.replace('_', ' ').capitalize()} not imported]"


def merged(messages: list[ExportedMessage]) -> list[ExportedMessage]:
    """Consecutive messages of one side joined into one (a reply and its tool output):
    the conversation alternates, as the model expects it to."""
    result: list[ExportedMessage] = []
    for message in messages:
        previous = result[-1] if result else None
        if previous is None or previous.role != message.role:
            result.append(message)
            continue
        previous.content += "\n\n" + message.content
        previous.model = previous.model or message.model
        if message.status != "complete":
            previous.status = message.status
    return result
