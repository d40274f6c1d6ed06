"""What the model is sent (services/history.py) and the gemini module's small helpers."""

from __future__ import annotations

import pytest

from chatapp.gemini import OfflineModel, Turn, clean_title, fallback_title
from chatapp.models import ChatMessage
from chatapp.services.chat.context import (
    Summary,
    estimate_tokens,
    newest_within,
    pairs_of,
    plan,
    turns_of,
    with_summary,
)

BIG = 10**9


def model_history(messages: list[ChatMessage], budget_tokens: int) -> list[Turn]:
    """What a turn sends without summaries: the newest exchanges that fit the budget."""
    return turns_of(newest_within(pairs_of(messages), budget_tokens))


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


# --- planning a summary (the database and model parts are in test_summaries.py) -------------


def numbered(count: int) -> list[ChatMessage]:
    """``count`` exchanges of 20 tokens each (10 a message), message ids 1, 2, 3, …"""
    messages = conversation(
        *[(f"q{n}".ljust(36, "q"), f"a{n}".ljust(36, "a")) for n in range(count)]
    )
    for number, each in enumerate(messages, start=1):
        each.id = number
    return messages


def texts(turns: list[Turn]) -> list[str]:
    """The first word of each turn (``q3``, ``a3``)."""
    return [turn.text[:2] for turn in turns]


def test_a_summary_is_planned_for_enough_older_exchanges_to_leave_slack() -> None:
    """Without a stored summary, the oldest exchanges are folded until the rest fit half the
    budget; meanwhile the newest that fit are what would be sent."""
    pairs = pairs_of(numbered(6))

    planned = plan(pairs, 80, None)

    assert planned.pending and planned.previous is None
    assert [pair.user.text[:2] for pair in planned.fold] == ["q0", "q1", "q2", "q3"]
    assert texts([turn for pair in planned.kept for turn in (pair.user, pair.reply)]) == [
        "q4",
        "a4",
        "q5",
        "a5",
    ]
    assert (planned.through, planned.pair_count) == (8, 4)  # reply 3 is message 8
    assert texts(planned.history) == ["q2", "a2", "q3", "a3", "q4", "a4", "q5", "a5"]


def test_a_stored_summary_is_reused_while_the_rest_fits_beside_it() -> None:
    """A stored summary and every exchange after it within the budget: sent as they are."""
    pairs = pairs_of(numbered(6))
    stored = Summary("short", through=4, pairs=2)

    planned = plan(pairs, 80 + stored.tokens, stored)

    assert not planned.pending and planned.summary == stored
    assert texts(planned.history) == ["q2", "a2", "q3", "a3", "q4", "a4", "q5", "a5"]


def test_a_new_summary_folds_only_what_fell_out_after_the_stored_one() -> None:
    """Past the stored summary's slack, the next summary is the stored one plus the
    exchanges after it that no longer fit, never the whole path again."""
    pairs = pairs_of(numbered(6))
    stored = Summary("short", through=4, pairs=2)

    planned = plan(pairs, 60, stored)

    assert planned.previous == stored
    assert [pair.user.text[:2] for pair in planned.fold] == ["q2", "q3", "q4"]
    assert (planned.through, planned.pair_count) == (10, 5)


def test_a_summary_larger_than_the_budget_is_not_sent() -> None:
    """The summary's tokens count against the budget; one that alone exceeds it is left out."""
    pairs = pairs_of(numbered(3))
    huge = Summary("word " * 400, through=2, pairs=1)

    assert with_summary(huge, pairs[1:], 100) == (model_history(numbered(3)[2:], 100), None)
    turns, sent = with_summary(Summary("short", 2, 1), pairs[1:], 40)
    assert sent is not None and texts(turns) == ["q2", "a2"]


def test_the_offline_summary_is_deterministic_and_incremental() -> None:
    """The offline model summarises from the messages' first words, after the summary so far."""
    model = OfflineModel(delay=0)
    first = model.summarise(
        None, [Turn("user", "How do I bake bread"), Turn("model", "Knead")], 100
    )
    second = model.summarise(first, [Turn("user", "And rye?"), Turn("model", "Sour")], 100)

    assert first == "Summary of 2 earlier messages: How do I bake bread; Knead."
    assert second == f"{first}\nSummary of 2 earlier messages: And rye; Sour."
    assert len(model.summarise(second, [Turn("user", "x" * 900)], 20)) == 80


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
