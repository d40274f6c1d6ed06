"""What the model is sent (services/history.py) and the gemini module's small helpers."""

from __future__ import annotations

import pytest

from chatapp.gemini import OfflineModel, Turn, clean_title, fallback_title
from chatapp.models import ChatMessage
from chatapp.services.chat.context import estimate_tokens, model_history

BIG = 10**9


def message(role: str, content: str, status: str = "complete") -> ChatMessage:
    """A stored message (never saved: history building needs no database)."""
    return ChatMessage(role=role, content=content, status=status)


def conversation(*pairs: tuple[str, str]) -> list[ChatMessage]:
    """Answered user messages, in order."""
    return [
        message(role, text)
        for user, model in pairs
        for role, text in (("user", user), ("model", model))
    ]


def test_pairs_alternate_exactly_as_stored() -> None:
    """Answered messages become user/model turns in their stored order."""
    history = model_history(conversation(("a", "A"), ("b", "B")), BIG)

    assert history == [Turn("user", "a"), Turn("model", "A"), Turn("user", "b"), Turn("model", "B")]


def test_failed_and_unanswered_messages_are_left_out() -> None:
    """Failed user messages, and user messages with no (or an empty) reply, are skipped."""
    messages = [
        message("user", "failed", "failed"),
        message("user", "a"),
        message("model", "A"),
        message("user", "no reply"),
        message("user", "empty reply"),
        message("model", "", "interrupted"),
        message("user", "b"),
        message("model", "B partial", "interrupted"),
    ]

    history = model_history(messages, BIG)

    assert history == [
        Turn("user", "a"),
        Turn("model", "A"),
        Turn("user", "b"),
        Turn("model", "B partial"),
    ]


def test_a_reply_without_its_question_is_dropped() -> None:
    """A model message after a failed user message cannot form a pair."""
    messages = [
        message("user", "x", "failed"),
        message("model", "orphan"),
        *conversation(("a", "A")),
    ]

    assert model_history(messages, BIG) == [Turn("user", "a"), Turn("model", "A")]


def test_budget_keeps_the_newest_whole_pairs() -> None:
    """Only the newest pairs that fit are kept, never half a pair."""
    pairs = [(f"q{n}" * 10, f"a{n}" * 10) for n in range(5)]
    cost = estimate_tokens(pairs[0][0]) + estimate_tokens(pairs[0][1])

    for keep in range(6):
        history = model_history(conversation(*pairs), keep * cost + cost - 1)
        assert [turn.text for turn in history] == [t for pair in pairs[5 - keep :] for t in pair]


def test_budget_stops_at_the_first_pair_that_does_not_fit() -> None:
    """A huge older pair hides everything before it, even small pairs."""
    messages = conversation(("old", "small"), ("x" * 4000, "big"), ("new", "small"))

    assert model_history(messages, 50) == [Turn("user", "new"), Turn("model", "small")]
    assert model_history(messages, 0) == []


def test_empty_conversation() -> None:
    """No messages, no history."""
    assert model_history([], BIG) == []


@pytest.mark.parametrize("text", ["", "abc", "x" * 400])
def test_token_estimate_grows_with_length(text: str) -> None:
    """About four characters a token, never zero."""
    assert estimate_tokens(text) == len(text) // 4 + 1


# --- gemini helpers --------------------------------------------------------------------------


def test_fallback_title_uses_the_first_words() -> None:
    """Six words, trailing punctuation removed; long words are cut with an ellipsis."""
    assert (
        fallback_title("  How do I bake sourdough bread at home?  ")
        == "How do I bake sourdough bread"
    )
    assert fallback_title("Hi!") == "Hi"
    assert fallback_title("   ") == "New conversation"
    long = fallback_title("x" * 100)
    assert len(long) == 60
    assert long.endswith("…")


def test_clean_title_tidies_the_model_output() -> None:
    """Quotes, markdown and a final period go; an empty answer falls back to the message."""
    assert clean_title('\n"**Sourdough Basics.**"\nextra line', "msg") == "Sourdough Basics"
    assert clean_title("  \n ", "first words of the message") == "first words of the message"


def test_offline_model_streams_word_by_word() -> None:
    """The offline model's stream joins to its whole reply, one word a chunk."""
    model = OfflineModel(delay=0)
    history = [Turn("user", "a"), Turn("model", "A")]
    chunks = list(model.stream("key", history, "hello", None))

    assert "".join(chunks) == model.send("key", history, "hello", None)[0]
    assert len(chunks) == len("".join(chunks).split(" "))
    assert "2 earlier turn(s)" in "".join(chunks)
