"""One-off prompts with no conversation (``POST /api/v1/chat``, seed 000)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from chatapp.schemas.chat import (
    Attachments,
    GroundingFields,
    TurnText,
    blank_only_with_files,
    text_unless_attached,
)
from chatapp.schemas.common import Strict
from chatapp.schemas.retrieval import CollectionIds

__all__ = ["PromptIn", "PromptOut"]


class PromptIn(Strict):
    """A one-off prompt (seed 000), optionally grounded, with files if ``attachments``
    (then ``prompt`` may be empty; the files stay unattached, removed after
    ``FILES_UNATTACHED_TTL``)."""

    model_config = ConfigDict(json_schema_extra=blank_only_with_files("prompt"))
    attachments: Attachments = Field(default_factory=list)
    prompt: TurnText
    collectionIds: CollectionIds | None = None
    webSearch: bool = False

    _prompt_given = field_validator("prompt")(text_unless_attached)


class PromptOut(GroundingFields):
    """A one-off answer; ``sources`` is empty when it was not grounded."""

    omit_if_none = ("grounding",)
    text: str
    model: str
