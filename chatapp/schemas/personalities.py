"""Personalities: named system prompts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from chatapp.schemas.common import NOT_BLANK, Out, Strict, Timestamp

if TYPE_CHECKING:
    from chatapp.models import Personality

PersonalityName = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)]
SystemPrompt = Annotated[str, Field(min_length=1, max_length=8000, pattern=NOT_BLANK)]


class PersonalityIn(Strict):
    """A new personality of the caller's own."""

    name: PersonalityName
    system_prompt: SystemPrompt


def _at_least_one(schema: dict[str, Any]) -> None:
    """Document the update: one property at least, none of them nullable or defaulted."""
    schema["minProperties"] = 1
    for prop in schema["properties"].values():
        prop.pop("default", None)


class PersonalityUpdate(Strict):
    """Changes to one of the caller's personalities (at least one field; null is refused,
    leave a field out to keep it)."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _at_least_one(schema))

    name: PersonalityName = None  # type: ignore[assignment]  # omitted: unchanged
    system_prompt: SystemPrompt = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _not_empty(self) -> PersonalityUpdate:
        """Refuse an update that changes nothing."""
        if self.name is None and self.system_prompt is None:
            raise PydanticCustomError("missing", "Send name and/or system_prompt")
        return self


class PersonalityOut(Out):
    """A personality; ``builtin`` ones are shared and read-only."""

    id: str
    name: str
    system_prompt: str
    builtin: bool
    created_at: Timestamp

    @classmethod
    def of(cls, personality: Personality) -> PersonalityOut:
        """A stored personality (built in when it has no owner)."""
        return cls.from_object(personality, builtin=personality.user_id is None)


class PersonalityList(Out):
    """The built-in personalities, then the caller's own."""

    personalities: list[PersonalityOut]
    total: int

    @classmethod
    def of(cls, personalities: list[Personality]) -> PersonalityList:
        """The personalities the caller may use."""
        items = [PersonalityOut.of(p) for p in personalities]
        return cls(personalities=items, total=len(items))


class PersonalityPath(BaseModel):
    """A personality id in the path."""

    personality_id: str = Field(max_length=64)
