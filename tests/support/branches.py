"""A conversation driven through the branch routes (edit, regenerate, switch)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.clients import ApiUser

ROLES = {"user": "user", "assistant": "model"}


def events_of(body: str) -> list[dict[str, Any]]:
    """Parse the ``data:`` events of an SSE body (comments are skipped)."""
    frames = [frame for frame in body.split("\n\n") if frame.startswith("data: ")]
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


class Conversation:
    """One conversation of one user, through the JSON API."""

    def __init__(self, user: ApiUser, session_id: str) -> None:
        self.user = user
        self.id = session_id

    @classmethod
    def start(cls, user: ApiUser, *messages: str) -> Conversation:
        """A new conversation with these messages sent in turn."""
        first = user.send(messages[0])
        assert first.status_code == 200, first.json
        conversation = cls(user, first.json["sessionId"])
        for text in messages[1:]:
            conversation.send(text)
        return conversation

    def on(self, user: ApiUser) -> Conversation:
        """The same conversation through another client (another app instance)."""
        return Conversation(user, self.id)

    def url(self, action: str = "") -> str:
        """The conversation's route, or one of its actions'."""
        return f"/api/v1/chat/session/{self.id}" + (f"/{action}" if action else "")

    def send(self, text: str) -> Any:
        """Send a message on the active path; return the 200 reply's JSON."""
        response = self.user.send(text, self.id)
        assert response.status_code == 200, response.json
        return response.json

    def call(self, action: str, **body: Any) -> Any:
        """POST one action (``regenerate``, ``edit``, ``switch``, or a ``/stream`` one)."""
        return self.user.call("POST", self.url(action), body)

    def regenerate(self, message_id: int) -> Any:
        """Regenerate a reply; return the new reply's JSON."""
        response = self.call("regenerate", messageId=message_id)
        assert response.status_code == 200, response.json
        return response.json

    def edit(self, message_id: int, text: str) -> Any:
        """Edit a user message; return the new reply's JSON."""
        response = self.call("edit", messageId=message_id, message=text)
        assert response.status_code == 200, response.json
        return response.json

    def switch(self, message_id: int) -> Any:
        """Switch to the path through a message; return the conversation's JSON."""
        response = self.call("switch", messageId=message_id)
        assert response.status_code == 200, response.json
        return response.json

    def stream(self, action: str, **body: Any) -> list[dict[str, Any]]:
        """POST a streaming action; return its events."""
        response = self.call(f"{action}/stream", **body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return events_of(response.get_data(as_text=True))

    def messages(self) -> list[dict[str, Any]]:
        """The active path's messages (up to 200)."""
        response = self.user.session(self.id, limit=200)
        assert response.status_code == 200, response.json
        return response.json["messages"]

    def texts(self) -> list[str]:
        """The active path's message texts."""
        return [message["content"] for message in self.messages()]

    def find(self, content: str) -> dict[str, Any]:
        """The active path's message with this text."""
        return next(m for m in self.messages() if m["content"] == content)

    def model_turns(self) -> list[tuple[str, str]]:
        """The active path as the model should see it: failed messages left out."""
        return [
            (ROLES[m["role"]], m["content"]) for m in self.messages() if m["status"] != "failed"
        ]
