"""Edit, regenerate and switch: the bodies of the routes that branch a conversation."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from chatapp.schemas.chat import TurnText
from chatapp.schemas.common import MAX_ID, Strict, integral

__all__ = ["BranchIn", "EditIn", "MessageId"]

# A message id in a body (``35.0`` is 35, as JSON Schema says).
MessageId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(integral)]


class BranchIn(Strict):
    """A message of the conversation to regenerate (a reply) or switch to (any message)."""

    messageId: MessageId


class EditIn(Strict):
    """A new version of one of the user's messages: a sibling of it, then its reply. The
    text may be empty only when the message has files (the new version keeps them)."""

    messageId: MessageId
    message: TurnText
