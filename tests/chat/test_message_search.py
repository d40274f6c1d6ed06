"""Full-text search over a user's own messages (``GET /api/v1/chat/search``), both databases.

Conversations are stored through the models, so what is tested is the database's own
index (triggers and FTS5 on SQLite, the generated tsvector on PostgreSQL) as the route
reads it.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, text

from chatapp.extensions import db
from chatapp.models import FAILED, ChatMessage, ChatSession
from chatapp.services import accounts
from chatapp.services.chat import paths
from tests.support.clients import ApiUser

SEARCH = "/api/v1/chat/search"


def store(app: Flask, username: str, title: str, *texts: str, status: str = "complete") -> Any:
    """Store a conversation of ``username`` with ``texts`` (user and model in turn); return
    ``(session id, [message ids])``."""
    with app.app_context():
        user = accounts.find_user(username)
        session = ChatSession(user_id=user.id, title=title)
        session.messages = [
            ChatMessage(position=i, role=("user", "model")[i % 2], content=t, status=status)
            for i, t in enumerate(texts)
        ]
        db.session.add(session)
        db.session.flush()
        paths.link_in_order(db.session, [session.id])
        db.session.commit()
        return str(session.id), [message.id for message in session.messages]


def hits(user: ApiUser, q: str, **query: Any) -> list[dict[str, Any]]:
    """The hits of one search (which must answer 200)."""
    response = user.call("GET", SEARCH, query_string={"q": q, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["hits"]


def test_finds_own_messages_with_marked_snippets(app: Flask, alice: ApiUser) -> None:
    """A hit names its conversation, message, role and time; the snippet marks the words."""
    sid, ids = store(
        app,
        "alice",
        "Regex help",
        "How do I match an email address with a regex?",
        "Use a simple regex like this one, then test it on real addresses.",
    )
    store(app, "alice", "Cooking", "How long do I boil an egg?")

    found = hits(alice, "regex")

    assert [hit["messageId"] for hit in found] == ids or sorted(
        h["messageId"] for h in found
    ) == ids
    first = next(hit for hit in found if hit["messageId"] == ids[0])
    assert first["sessionId"] == sid
    assert first["title"] == "Regex help"
    assert first["role"] == "user"
    assert first["timestamp"]
    assert "<mark>regex</mark>" in first["snippet"]
    assert next(h for h in found if h["messageId"] == ids[1])["role"] == "assistant"


def test_ranking_puts_the_better_match_first(app: Flask, alice: ApiUser) -> None:
    """The message about the terms comes before one that mentions them in passing."""
    _, (passing,) = store(
        app,
        "alice",
        "Long",
        "We talked about many things today: gardens, weather, trains, music, books, "
        "films, holidays, recipes, and once, briefly, about kubernetes clusters.",
    )
    _, (focused,) = store(app, "alice", "Short", "kubernetes clusters: kubernetes pods")

    found = hits(alice, "kubernetes clusters")

    assert [hit["messageId"] for hit in found] == [focused, passing]
    assert found[0]["score"] > found[1]["score"]


def test_all_terms_phrases_and_prefixes(app: Flask, alice: ApiUser) -> None:
    """Every term must match; a quoted phrase matches in order; ``word*`` is a prefix."""
    _, (ordered,) = store(app, "alice", "A", "the quick brown fox jumps")
    _, (reversed_,) = store(app, "alice", "B", "the brown quick fox sleeps")

    assert {h["messageId"] for h in hits(alice, "quick brown")} == {ordered, reversed_}
    assert [h["messageId"] for h in hits(alice, '"quick brown"')] == [ordered]
    assert [h["messageId"] for h in hits(alice, "jump*")] == [ordered]
    assert [h["messageId"] for h in hits(alice, "fox sleeps")] == [reversed_]
    assert hits(alice, "fox zebra") == []


def test_hostile_html_stays_text(app: Flask, alice: ApiUser) -> None:
    """Markup in a message is escaped in the snippet; only the marks are tags."""
    store(app, "alice", "XSS", '<img src=x onerror="alert(1)"> <b>payload</b> & more')

    (hit,) = hits(alice, "payload")

    assert "<img" not in hit["snippet"] and "<b>" not in hit["snippet"]
    assert 'img src=x onerror="alert(1)"&gt;' in hit["snippet"]
    assert "&lt;b&gt;<mark>payload</mark>&lt;/b&gt;" in hit["snippet"]
    assert "&amp; more" in hit["snippet"]


def test_another_users_messages_are_never_found(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """bob's words are not found by alice, and the other way round."""
    store(app, "bob", "Secret", "bob's secret password is swordfish")
    _, (mine,) = store(app, "alice", "Mine", "alice likes swordfish too")

    assert [h["messageId"] for h in hits(alice, "swordfish")] == [mine]
    assert hits(alice, "password") == []
    assert len(hits(bob, "swordfish")) == 1
    assert hits(bob, "alice") == []


@pytest.mark.parametrize(
    "q",
    [
        "'; DROP TABLE chat_history; --",
        '" OR 1=1 --',
        "owner : u1",
        "NEAR(a b) AND OR NOT",
        "content:(x) ^ * ( ) { } -",
        '"unclosed phrase',
        "a:* & !b | <-> c",
        "*",
        "\\",
        "ünïcödé 日本語 emoji 😀",
        "___* _ __ a_b* 9* ½* ²*",
        '"" "_" "&&" \'*\' :* !',
        "the* and* of",
    ],
)
def test_query_syntax_is_harmless(app: Flask, alice: ApiUser, q: str) -> None:
    """SQL and FTS syntax in ``q`` is a 200 with ordinary results, and changes nothing."""
    store(app, "alice", "Kept", "content owner near drop table")

    hits(alice, q)

    assert len(hits(alice, "drop table")) == 1


def test_owner_tokens_in_text_do_not_leak(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """A message spelling another user's owner token does not make it theirs."""
    with app.app_context():
        bob_id = accounts.find_user("bob").id
    store(app, "alice", "Trick", f"u{bob_id} owner u{bob_id} marker")

    assert hits(bob, f"u{bob_id}") == []
    assert len(hits(alice, f"u{bob_id}")) == 1


def test_edits_and_deletes_follow_the_database(app: Flask, alice: ApiUser) -> None:
    """An edited message is found by its new words only; a deleted conversation's and a
    deleted message's are found no more."""
    sid, (first, second) = store(app, "alice", "Edits", "original wording", "another reply")
    other, _ = store(app, "alice", "Gone", "original sin")
    with app.app_context():
        db.session.get(ChatMessage, first).content = "rewritten wording"
        db.session.execute(delete(ChatMessage).where(ChatMessage.id == second))
        db.session.commit()

    assert [h["messageId"] for h in hits(alice, "rewritten")] == [first]
    assert hits(alice, "another") == []
    assert len(hits(alice, "original")) == 1
    assert alice.call("DELETE", f"/api/v1/chat/session/{other}").status_code == 200
    assert hits(alice, "original") == []
    assert alice.call("DELETE", f"/api/v1/chat/session/{sid}").status_code == 200
    assert hits(alice, "wording") == []


def test_deleting_a_user_removes_their_messages(app: Flask, alice: ApiUser) -> None:
    """A user's deletion cascades through conversations; the index stays consistent."""
    store(app, "bob", "Bob's", "zeppelin flights")
    store(app, "alice", "Alice's", "zeppelin museum")
    with app.app_context():
        db.session.delete(accounts.find_user("bob"))
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(
                text("INSERT INTO chat_history_fts(chat_history_fts) VALUES ('integrity-check')")
            )

    assert len(hits(alice, "zeppelin")) == 1


def test_failed_messages_are_not_searched(app: Flask, alice: ApiUser) -> None:
    """A message whose turn failed is not found; complete and interrupted ones are."""
    store(app, "alice", "Failed", "unanswered question about volcanoes", status=FAILED)
    store(app, "alice", "Cut", "half an answer about volcanoes", status="interrupted")

    (hit,) = hits(alice, "volcanoes")
    assert "half an answer" in hit["snippet"]


def test_paging_and_total(app: Flask, alice: ApiUser) -> None:
    """``limit`` and ``offset`` page through the hits; ``total`` counts all of them."""
    for n in range(5):
        store(app, "alice", f"T{n}", f"lighthouse number {n}")

    first = alice.call("GET", SEARCH, query_string={"q": "lighthouse", "limit": 2}).get_json()
    past = alice.call("GET", SEARCH, query_string={"q": "lighthouse", "offset": 9}).get_json()
    rest = hits(alice, "lighthouse", limit=2, offset=4)

    assert first["total"] == 5 and len(first["hits"]) == 2
    assert past == {"hits": [], "total": 5}
    assert len(rest) == 1
    assert hits(alice, "?!.,") == []


@pytest.mark.parametrize(
    "query", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}, {"q": "a", "limit": 0}]
)
def test_bad_parameters_are_400(alice: ApiUser, query: dict[str, Any]) -> None:
    """A missing, blank or too long ``q`` or a bad page is a 400 in the error shape."""
    response = alice.call("GET", SEARCH, query_string=query)

    assert response.status_code == 400
    assert response.get_json()["code"]


def test_search_needs_a_login(client: Any) -> None:
    """Without a token or a session the route is a 401."""
    assert client.get(SEARCH, query_string={"q": "x"}).status_code == 401
