"""Summaries of the older part of a conversation's path (``CHAT_SUMMARIES``).

When a path's answered exchanges no longer fit ``CHAT_CONTEXT_TOKENS``, the older ones are
stood for by a summary the model writes, sent ahead of the kept turns in the system
instruction. A summary is stored keyed by the last message it covers: the path up to a
message is the same on every branch through it, so branches share what they share, and
only summaries whose message is on the given path are ever looked up. A new summary is
made from the previous one and the exchanges that fell out since (never from scratch);
while nothing new falls out the stored one is reused with no model call.

Looking a summary up costs a turn one statement, only when its path is over the budget;
writing one costs a model call and one small commit, after the turn's user message is
committed and outside any transaction. A summary that cannot be written or stored never
fails the turn: it falls back to dropping the older turns (logged).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatapp.extensions import db
from chatapp.gemini import ModelError, get_model
from chatapp.models import ChatSummary
from chatapp.services.chat import context, conversations
from chatapp.services.chat.context import SUMMARY_HEADING, Plan, Summary

log = logging.getLogger(__name__)


def enabled() -> bool:
    """Whether older turns are summarised rather than only dropped."""
    return bool(current_app.config["CHAT_SUMMARIES"])


def plan_turn(rows: Sequence[Any], budget_tokens: int) -> Plan:
    """Plan what a turn sends before its message, from its path's rows (with ids).

    Within the budget (or with summaries off) no summary is looked up.
    """
    pairs = context.pairs_of(rows)
    kept = context.newest_within(pairs, budget_tokens)
    if len(kept) == len(pairs) or not enabled():
        return Plan(context.turns_of(kept))
    return context.plan(pairs, budget_tokens, stored_on_path(pairs))


def stored_on_path(pairs: Sequence[context.Pair]) -> Summary | None:
    """The stored summary covering the longest prefix of the path whose ``pairs`` are given
    (only summaries ending with a message of this path)."""
    order = {pair.through: index for index, pair in enumerate(pairs) if pair.through}
    if not order:
        return None
    rows = db.session.execute(
        select(
            ChatSummary.through_message_id,
            ChatSummary.content,
            ChatSummary.pair_count,
            ChatSummary.created_at,
        ).where(ChatSummary.through_message_id.in_(list(order)))
    ).all()
    if not rows:
        return None
    newest = max(rows, key=lambda row: order[row.through_message_id])
    return Summary(newest.content, newest.through_message_id, newest.pair_count, newest.created_at)


def write(session_id: uuid.UUID, plan: Plan, budget_tokens: int) -> None:
    """Write and store the summary ``plan`` wants, then send it with the kept turns.

    A model failure, or a database failure while storing, leaves ``plan`` sending what it
    did (the older turns dropped); a summary written but not stored is still sent.
    """
    if not plan.pending:
        return
    model = get_model()
    previous = plan.previous.content if plan.previous else None
    try:
        text = model.summarise(
            previous, context.turns_of(plan.fold), context.summary_budget(budget_tokens)
        )
    except ModelError as exc:
        log.warning(
            "Could not summarise session %s (%s): older turns dropped", session_id, exc.code
        )
        return
    except Exception:  # a summary is never worth failing the turn for
        log.warning(
            "Could not summarise session %s: older turns dropped", session_id, exc_info=True
        )
        return
    summary = Summary(text, plan.through, plan.pair_count)
    _store(session_id, summary, model.name)
    plan.history, plan.summary = context.with_summary(summary, plan.kept, budget_tokens)
    plan.fold = []


def _store(session_id: uuid.UUID, summary: Summary, model: str) -> None:
    """Store a new summary in one small transaction (a failure is logged, not raised)."""
    db.session.add(
        ChatSummary(
            session_id=session_id,
            through_message_id=summary.through,
            content=summary.content,
            pair_count=summary.pairs,
            model=model,
        )
    )
    try:
        db.session.commit()
    except (IntegrityError, OperationalError, PoolTimeout) as exc:
        db.session.rollback()
        log.warning("Could not store the summary of session %s: %s", session_id, type(exc).__name__)


def in_force(session_id: uuid.UUID) -> Summary | None:
    """The stored summary the next turn on the conversation's active path would send: None
    with summaries off, while the path fits the budget, or before any summary was written."""
    if not enabled():
        return None
    written = select(ChatSummary.id).where(ChatSummary.session_id == session_id).limit(1)
    if db.session.scalar(written) is None:
        return None  # the usual case: the conversation's messages need not be read
    pairs = context.pairs_of(conversations.history_rows(session_id))
    if sum(pair.tokens for pair in pairs) <= current_app.config["CHAT_CONTEXT_TOKENS"]:
        return None
    return stored_on_path(pairs)


def instruction(system: str | None, summary: Summary | None) -> str | None:
    """A turn's system instruction: the conversation's own, then the summary (if any)."""
    if summary is None:
        return system
    text = f"{SUMMARY_HEADING}\n{summary.content}"
    return f"{system}\n\n{text}" if system else text
