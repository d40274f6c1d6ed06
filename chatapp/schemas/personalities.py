"""Personalities: named system prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from chatapp.schemas.common import Strict

PersonalityName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
SystemPrompt = Annotated[str, Field(min_length=1, max_length=8000, pattern=r"\S")]


class PersonalityIn(Strict):
    """A new personality of the caller's own."""

    name: PersonalityName
    system_prompt: SystemPrompt


class PersonalityUpdate(Strict):
    """Changes to one of the caller's personalities (at least one field)."""

    name: PersonalityName | None = None
    system_prompt: SystemPrompt | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> PersonalityUpdate:
        """Refuse an update that changes nothing."""
        if self.name is None and self.system_prompt is None:
            raise PydanticCustomError("missing", "Send name and/or system_prompt")
        return self


class PersonalityOut(BaseModel):
    """A personality; ``builtin`` ones are shared and read-only."""

    id: str
    name: str
    system_prompt: str
    builtin: bool
    created_at: datetime


class PersonalityList(BaseModel):
    """The built-in personalities, then the caller's own."""

    personalities: list[PersonalityOut]
    total: int


class PersonalityPath(BaseModel):
    """A personality id in the path."""

    personality_id: str = Field(max_length=64)
