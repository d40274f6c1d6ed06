"""Edit, regenerate and switch: the turns and moves that branch a conversation.

Regenerating a reply adds a new reply below the same user message (the old one is kept);
editing a user message adds a new user message below the same parent, and its reply;
switching makes the path through any message active (below it, the newest child at each
step: see ``paths.py``). Each is refused in an archived conversation (410) and while a
turn runs (409 ``SESSION_BUSY``, from the turn lock), and changes nothing when refused.
"""

from __future__ import annotations

from sqlalchemy import update

from chatapp.errors import ApiError, NotFound, invalid
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services import files
from chatapp.services.chat import conversations
from chatapp.services.chat.prepared import Placement, PreparedTurn
from chatapp.services.chat.turns import begin_turn

# An edit's text may be blank only when the message has files.
BLANK = "Message must not be blank"
# What each message role can have done to it (the stored role names).
REGENERATE, EDIT = "model", "user"


def regenerate(user: User, session_id: str, message_id: int) -> PreparedTurn:
    """Lock the conversation for a new reply to the user message answered by reply
    ``message_id``; the path through that user message becomes active."""
    session = _open_session(user, session_id)
    reply = _message(session, message_id, REGENERATE)
    answered = db.session.get(ChatMessage, reply.parent_id) if reply.parent_id else None
    if answered is None or answered.role != "user":
        raise _wrong_role("This reply answers no message of yours; it cannot be regenerated.")
    return begin_turn(session, user.id, answered.content, Placement(answered=answered))


def edit(user: User, session_id: str, message_id: int, text: str) -> PreparedTurn:
    """Lock the conversation for a new version of user message ``message_id`` (a sibling
    of it, with ``text`` and copies of its files) and commit it; the path through it
    becomes active."""
    session = _open_session(user, session_id)
    original = _message(session, message_id, EDIT)
    kept = files.copies_of(user, original.id) if session.has_files else []
    if not text.strip() and not kept:
        db.session.rollback()
        raise invalid([{"field": "message", "message": BLANK, "code": "string_blank"}])
    place = Placement(edit=True, parent_id=original.parent_id)
    return begin_turn(session, user.id, text, place, new_files=kept)


def switch(user: User, session_id: str, message_id: int) -> ChatSession:
    """Make the path through message ``message_id`` the conversation's active path."""
    session = _open_session(user, session_id)
    _message(session, message_id)
    switched = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session.id, ChatSession.turn_id.is_(None))
        .values(active_message_id=message_id)
        .execution_options(synchronize_session=False)
    )
    if switched.rowcount != 1:
        db.session.rollback()
        raise conversations.session_busy()
    db.session.commit()
    return session


def _open_session(user: User, session_id: str) -> ChatSession:
    """The user's conversation, if it is open to changes (404, 410 otherwise)."""
    session = conversations.get_session(user, session_id)
    conversations.require_open(session)
    return session


def _message(session: ChatSession, message_id: int, role: str | None = None) -> ChatMessage:
    """A message of the conversation (404 otherwise) of the given role (400 otherwise)."""
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.session_id != session.id:
        raise NotFound("Message")
    if role == REGENERATE and message.role != role:
        raise _wrong_role("Only a reply can be regenerated; edit your message instead.")
    if role == EDIT and message.role != role:
        raise _wrong_role("Only your own messages can be edited; regenerate a reply instead.")
    return message


def _wrong_role(message: str) -> ApiError:
    """The 400 for a message that cannot be regenerated or edited."""
    return ApiError(400, "WRONG_MESSAGE_ROLE", message)
