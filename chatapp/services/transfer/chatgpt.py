"""ChatGPT's ``conversations.json``: each conversation's message tree, as chatapp's tree.

A conversation is a tree (``mapping`` of nodes with ``parent`` and ``children``): every
edit or regeneration starts a branch, and every branch is imported; the active path is
the one ending at ``current_node`` (the branch the user last saw). System messages and
those ChatGPT hides are left out (their children hang from the nearest message kept);
tool output (code results, images, web pages) becomes part of the assistant's reply, and
what cannot be imported (an image, an audio clip) is named in the text where it was.
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
    mapping = raw["mapping"]
    messages, active = Tree.read(mapping, created).flattened(
        _current(mapping, raw.get("current_node"))
    )
    branched = any(parent != n - 1 for n, (_, parent) in enumerate(messages) if n)
    if branched:  # (a single branch is written as it was before trees)
        for message, parent in messages:
            message.parent = parent
    title = raw.get("title") if isinstance(raw.get("title"), str) else None
    return ExportedConversation(
        title=(title.strip()[:200] or None) if title else None,
        titleSetByUser=bool(title),
        createdAt=created,
        updatedAt=instant(raw.get("update_time")) or created,
        messages=[message for message, _ in messages],
        activeMessage=active if branched else None,
    )


def instant(value: Any) -> datetime | None:
    """A ChatGPT timestamp (seconds since the epoch, a float) as a UTC instant."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):  # far outside any real conversation
        return None


def _current(mapping: dict[str, Any], current: Any) -> str | None:
    """The node the user last saw: ``current_node``, or without one the newest leaf."""
    return current if isinstance(current, str) and current in mapping else _last_leaf(mapping)


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


def _in(mapping: dict[str, Any], key: Any) -> bool:
    """Whether ``key`` names a node of the mapping."""
    return isinstance(key, str) and isinstance(mapping.get(key), dict)


def _children(mapping: dict[str, Any]) -> dict[str | None, list[str]]:
    """Each node's children (``None``: the roots), by their ``parent``, in the order the
    parent lists them (oldest first; any it does not list after them)."""
    below: dict[str | None, list[str]] = {None: []}
    for key, node in mapping.items():
        if isinstance(node, dict):
            parent = node.get("parent") if _in(mapping, node.get("parent")) else None
            below.setdefault(parent, []).append(key)
    for parent, keys in below.items():
        listed = (mapping.get(parent) or {}).get("children") if parent is not None else None
        order = {k: n for n, k in enumerate(listed)} if isinstance(listed, list) else {}
        keys.sort(key=lambda k: order.get(k, len(order)))
    return below


class Tree:
    """The visible messages of a mapping and the tree they form: hidden nodes are left out
    and their children hang from the nearest visible ancestor (``None``: the top)."""

    def __init__(self) -> None:
        self.messages: dict[str, ExportedMessage] = {}
        self.children: dict[str | None, list[str]] = {None: []}
        self.kept: dict[str, str | None] = {}  # each node: itself or its nearest kept ancestor

    @classmethod
    def read(cls, mapping: dict[str, Any], created: datetime) -> Tree:
        """Walk every node from the roots, depth first; a message without a time takes the
        time of the message above it."""
        tree = cls()
        below = _children(mapping)
        stack: list[tuple[str, str | None, datetime]] = [
            (root, None, created) for root in below[None][::-1]
        ]
        while stack:
            key, above, last = stack.pop()
            message = visible_message(mapping[key].get("message"), last)
            if message is not None:
                tree.messages[key] = message
                tree.children[above].append(key)
                tree.children[key] = []
                above, last = key, message.createdAt
            tree.kept[key] = above
            stack.extend((child, above, last) for child in below.get(key, [])[::-1])
        return tree

    def flattened(
        self, current: str | None
    ) -> tuple[list[tuple[ExportedMessage, int | None]], int | None]:
        """The messages with their parents' indexes, parents first, and the index of the
        message ``current`` is in (None if it is in none).

        Along every path, consecutive messages of one side are joined (a reply and its
        tool output), so each path alternates: a message and its same-side children are
        one message per child, the child's text after its parent's. A parent that has
        children of the other side too (or none) stays a message of its own, and the
        joined ones are versions next to it."""
        out: list[tuple[ExportedMessage, int | None]] = []
        where: dict[str, int] = {}
        stack: list[tuple[str, int | None, ExportedMessage | None]] = [
            (key, None, None) for key in self.children[None][::-1]
        ]
        while stack:
            key, parent, pending = stack.pop()
            message = joined(pending, self.messages[key])
            kids = self.children[key]
            same = {kid for kid in kids if self.messages[kid].role == message.role}
            index = parent
            if len(same) < len(kids) or not kids:
                out.append((message, parent))
                index = where[key] = len(out) - 1
            for kid in kids[::-1]:
                stack.append((kid, parent, message) if kid in same else (kid, index, None))
        key = self.kept.get(current) if current is not None else None
        while key is not None and key not in where:  # joined into its newest child
            key = self.children[key][-1]
        return out, where.get(key) if key is not None else None


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


def joined(before: ExportedMessage | None, message: ExportedMessage) -> ExportedMessage:
    """``message`` after the text of ``before`` of the same side (a reply and its tool
    output), as a new message with the first one's time."""
    if before is None:
        return message.model_copy()
    result = before.model_copy()
    result.content += "\n\n" + message.content
    result.model = before.model or message.model
    if message.status != "complete":
        result.status = message.status
    return result
