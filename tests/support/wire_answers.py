"""How the wire server answers a model request: a scripted or echoed reply, as JSON or as
a stream of chunks, with the failures a script asks for; and embeddings."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tests.support.wire_replies import (
    EMBEDDING_DIMENSIONS,
    Recorded,
    Reply,
    content_text,
    count_tokens,
    echo_text,
    embedding,
    pad_words,
    split_text,
    usage,
)

if TYPE_CHECKING:
    from tests.support.wire_protocol import Connection


def embeddings_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The response to ``batchEmbedContents`` or ``embedContent``."""
    requests = body.get("requests")

    def one(request: dict[str, Any]) -> dict[str, Any]:
        dimensions = request.get("outputDimensionality") or EMBEDDING_DIMENSIONS
        return {"values": embedding(content_text(request.get("content")), dimensions)}

    if requests is None:
        return {"embedding": one(body)}
    return {"embeddings": [one(request) for request in requests]}


class Generation:
    """Plays one :class:`Reply` to one ``generateContent``/``streamGenerateContent``."""

    def __init__(self, conn: Connection, record: Recorded, reply: Reply) -> None:
        self.conn = conn
        self.record = record
        self.reply = reply
        self.owner = conn.owner
        self.stream = record.method_name == "streamGenerateContent"
        self.prompt_tokens = count_tokens(
            {key: record.body.get(key) for key in ("contents", "systemInstruction")}
        )
        self.response_id = f"wire-{record.number}"

    async def play(self) -> None:
        """Send the reply."""
        reply = self.reply
        await self.conn.pause(reply.delay)
        if reply.http_error:
            headers = {} if reply.retry_after is None else {"Retry-After": str(reply.retry_after)}
            self.conn.send_json(reply.status, reply.error_body(), headers)
        elif self.stream:
            await self._play_stream()
        else:
            await self._play_single()

    async def _play_single(self) -> None:
        """Answer ``generateContent``."""
        reply, conn = self.reply, self.conn
        if reply.hang:
            await conn.pause(math.inf)
        if reply.break_after is not None:
            conn.drop(reply.reset)
        elif reply.error_frame_after is not None:
            body = reply.error_body()
            conn.send_json(body["error"]["code"], body)
        elif reply.blocked:
            conn.send_json(200, self._blocked())
        else:
            text = "".join(self._chunks())
            conn.send_json(200, self._frame(text, text, reply.finish_reason))

    async def _play_stream(self) -> None:
        """Answer ``streamGenerateContent`` with SSE frames in chunked encoding."""
        reply, conn = self.reply, self.conn
        conn.start_stream()
        if reply.blocked:
            conn.send_frame(self._blocked())
        else:
            await self._send_chunks()
        if reply.error_frame_after is not None:
            conn.send_frame(reply.error_body())
        if reply.hang:
            await conn.pause(math.inf)
        if reply.break_after is not None:
            conn.drop(reply.reset)
        else:
            conn.end_stream()

    async def _send_chunks(self) -> None:
        """Send the content frames, up to ``break_after``/``error_frame_after`` of them."""
        reply, conn = self.reply, self.conn
        chunks = self._chunks() or [""]
        limits = (reply.break_after, reply.error_frame_after, len(chunks))
        cut = min(n for n in limits if n is not None)
        delay = self.owner.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        sent = ""
        for index, chunk in enumerate(chunks[:cut]):
            if index:
                await conn.pause(delay)
            sent += chunk
            last = index == len(chunks) - 1
            conn.send_frame(self._frame(chunk, sent, reply.finish_reason if last else None))

    def _chunks(self) -> list[str]:
        """The reply's text pieces (one piece per streamed chunk)."""
        reply, pieces = self.reply, self.owner.chunks
        if reply.chunks is not None:
            return list(reply.chunks)
        if reply.text is not None:
            return split_text(reply.text, pieces) if self.stream and reply.text else [reply.text]
        text = echo_text(self.record.body)
        return split_text(pad_words(text, pieces), pieces) if self.stream else [text]

    def _frame(self, text: str, sent: str, finish: str | None) -> dict[str, Any]:
        """A ``GenerateContentResponse`` carrying ``text``; ``sent`` is the text so far."""
        candidate: dict[str, Any] = {"index": 0}
        if text:
            candidate["content"] = {"parts": [{"text": text}], "role": "model"}
        if finish:
            candidate["finishReason"] = finish
            if self.reply.grounding is not None:
                candidate["groundingMetadata"] = self.reply.grounding
        return {
            "candidates": [candidate],
            "usageMetadata": usage(self.prompt_tokens, sent),
            "modelVersion": self.record.model,
            "responseId": self.response_id,
        }

    def _blocked(self) -> dict[str, Any]:
        """A response for a prompt refused outright."""
        return {
            "promptFeedback": {"blockReason": self.reply.blocked},
            "usageMetadata": usage(self.prompt_tokens, ""),
            "modelVersion": self.record.model,
            "responseId": self.response_id,
        }
