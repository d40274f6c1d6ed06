"""Demo data for trying chatapp, safe to create twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.services import accounts
from chatapp.services.chat import paths

DEMO_PASSWORD = "demo-password"
TOPICS = [
    ("Planning a trip to Lisbon", "What should I see in Lisbon in three days?"),
    ("Python decorators", "Can you explain Python decorators with an example?"),
    ("Sourdough starter", "My sourdough starter smells like nail polish. Is it dead?"),
    ("Weekly running plan", "Help me plan four runs a week for a 10K."),
    ("Reading list", "Suggest five classic science fiction novels."),
]


def demo_username(index: int) -> str:
    """Return the username of the ``index``-th demo user (1-based)."""
    return f"demo{index}"


def create_demo_data(
    users: int, sessions: int, messages: int, *, password_hash: str = ""
) -> Iterator[str]:
    """Create missing demo users, conversations and messages; yield each username done.

    Running it again adds nothing: users and conversations are topped up to the counts.
    """
    for index in range(1, users + 1):
        user = _demo_user(index, password_hash)
        have = db.session.scalar(
            select(func.count()).select_from(ChatSession).where(ChatSession.user_id == user.id)
        )
        added = [_demo_session(user, number, messages) for number in range(have or 0, sessions)]
        db.session.flush()
        paths.link_in_order(db.session, [session.id for session in added])
        db.session.commit()
        yield user.username


def _demo_user(index: int, password_hash: str) -> User:
    """Return demo user ``index``, creating it if needed."""
    name = demo_username(index)
    user = accounts.find_user(name)
    if user is None:
        user = accounts.create_user(
            name, f"{name}@example.com", DEMO_PASSWORD, password_hash=password_hash
        )
    return user


def _demo_session(user: User, number: int, messages: int) -> ChatSession:
    """Add one demo conversation of ``messages`` alternating turns (its messages are
    linked in order once flushed)."""
    title, question = TOPICS[number % len(TOPICS)]
    start = utcnow() - timedelta(days=number, minutes=messages)
    session = ChatSession(
        user=user, title=title, created_at=start, updated_at=start + timedelta(minutes=messages)
    )
    for position, text in enumerate(_demo_turns(question, messages)):
        role = ChatMessage.ROLES[position % 2]
        session.messages.append(
            ChatMessage(
                position=position,
                role=role,
                content=text,
                created_at=start + timedelta(minutes=position),
                model="demo" if role == "model" else None,
            )
        )
    session.message_count = messages
    db.session.add(session)
    return session


def _demo_turns(question: str, count: int) -> Iterator[str]:
    """Yield ``count`` alternating demo texts starting with ``question``."""
    for position in range(count):
        if position == 0:
            yield question
        elif position % 2:
            yield f"(demo reply {position // 2 + 1}) This is sample text for trying the page."
        else:
            yield f"Tell me more, please ({position // 2 + 1})."
