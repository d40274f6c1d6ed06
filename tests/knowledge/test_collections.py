"""Collections: CRUD, and who may read or write what (another user's is a 404 everywhere)."""

from __future__ import annotations

import pytest

from tests.support.documents import make_admin, new_collection, upload


def test_create_list_read_rename_delete(alice):
    """A user's own collection goes through its whole life through the API."""
    created = alice.call("POST", "/api/v1/collections", {"name": "Papers", "description": "PDFs"})
    assert created.status_code == 201
    body = created.json
    assert body["name"] == "Papers" and body["shared"] is False and body["writable"] is True
    assert body["documentCount"] == 0
    listed = alice.call("GET", "/api/v1/collections").json
    assert [c["name"] for c in listed["collections"]] == ["Papers"] and listed["total"] == 1
    path = f"/api/v1/collections/{body['id']}"
    renamed = alice.call("PATCH", path, {"name": "Reading"})
    assert renamed.status_code == 200 and renamed.json["name"] == "Reading"
    assert renamed.json["description"] == "PDFs"
    assert alice.call("GET", path).json["name"] == "Reading"
    deleted = alice.call("DELETE", path)
    assert deleted.status_code == 200 and deleted.json["id"] == body["id"]
    assert alice.call("GET", path).status_code == 404


def test_another_users_private_collection_is_404_on_every_route(alice, bob):
    """bob can neither see nor touch alice's collection or its documents."""
    collection = new_collection(alice, "Private")
    document = upload(alice, collection, "a.txt", b"alice's secret notes").json["id"]
    base = f"/api/v1/collections/{collection}"
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"name": "mine now"}),
        ("DELETE", base, None),
        ("GET", f"{base}/documents", None),
        ("POST", f"{base}/documents", {"title": "t", "text": "x"}),
        ("GET", f"/api/v1/documents/{document}", None),
        ("DELETE", f"/api/v1/documents/{document}", None),
        ("POST", f"/api/v1/documents/{document}/reindex", None),
    ]
    for method, path, body in calls:
        response = bob.call(method, path, body)
        assert response.status_code == 404, (method, path)
        assert response.json["code"] == "NOT_FOUND"
    assert upload(bob, collection, "b.txt", b"bob's").status_code == 404
    assert bob.call("GET", "/api/v1/collections").json["collections"] == []
    assert alice.call("GET", base).json["name"] == "Private"
    assert alice.call("GET", f"{base}/documents").json["total"] == 1


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "0" * 40])
def test_malformed_ids_are_404(alice, bad):
    """An id that is not a UUID names nothing: 404, like a conversation's."""
    assert alice.call("GET", f"/api/v1/collections/{bad}").status_code == 404
    assert alice.call("GET", f"/api/v1/documents/{bad}").status_code == 404
    assert alice.call("DELETE", f"/api/v1/documents/{bad}").status_code == 404


def test_shared_collections_are_read_by_all_written_by_admins(app, alice, bob):
    """An admin's shared collection is listed for bob, who cannot change it (403)."""
    make_admin(app, "alice")
    created = alice.call("POST", "/api/v1/collections", {"name": "Handbook", "shared": True})
    assert created.status_code == 201 and created.json["shared"] is True
    collection = created.json["id"]
    document = alice.call(
        "POST",
        f"/api/v1/collections/{collection}/documents",
        {"title": "Rules", "text": "Be kind."},
    ).json["id"]
    listed = bob.call("GET", "/api/v1/collections").json["collections"]
    assert [(c["name"], c["shared"], c["writable"]) for c in listed] == [("Handbook", True, False)]
    assert bob.call("GET", f"/api/v1/collections/{collection}/documents").json["total"] == 1
    assert bob.call("GET", f"/api/v1/documents/{document}").json["text"] == "Be kind."
    writes = [
        ("PATCH", f"/api/v1/collections/{collection}", {"name": "x"}),
        ("DELETE", f"/api/v1/collections/{collection}", None),
        ("POST", f"/api/v1/collections/{collection}/documents", {"title": "t", "text": "y"}),
        ("DELETE", f"/api/v1/documents/{document}", None),
        ("POST", f"/api/v1/documents/{document}/reindex", None),
    ]
    for method, path, body in writes:
        response = bob.call(method, path, body)
        assert response.status_code == 403, (method, path)
        assert response.json["code"] == "ADMIN_REQUIRED"
    assert bob.call("GET", f"/api/v1/collections/{collection}/documents").json["total"] == 1


def test_only_admins_create_or_toggle_shared(app, alice, bob):
    """A user asking for a shared collection is refused and nothing is created."""
    refused = bob.call("POST", "/api/v1/collections", {"name": "Everyone's", "shared": True})
    assert refused.status_code == 403
    assert bob.call("GET", "/api/v1/collections").json["total"] == 0
    mine = new_collection(bob, "Mine")
    toggle = bob.call("PATCH", f"/api/v1/collections/{mine}", {"shared": True})
    assert toggle.status_code == 403
    make_admin(app, "alice")
    own = new_collection(alice, "Team")
    shared = alice.call("PATCH", f"/api/v1/collections/{own}", {"shared": True})
    assert shared.json["shared"] is True
    assert [c["name"] for c in bob.call("GET", "/api/v1/collections").json["collections"]] == [
        "Mine",
        "Team",
    ]


def test_validation_errors(alice):
    """Blank names and unknown fields are 400s in the one error shape."""
    blank = alice.call("POST", "/api/v1/collections", {"name": "  "})
    assert blank.status_code == 400 and blank.json["code"] == "VALIDATION_ERROR"
    extra = alice.call("POST", "/api/v1/collections", {"name": "x", "owner": 2})
    assert extra.status_code == 400
    assert alice.call("GET", "/api/v1/collections").json["total"] == 0
