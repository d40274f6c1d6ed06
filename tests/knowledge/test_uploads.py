"""Adding documents: each file type, refusals (415, 413, 422), and the same content twice."""

from __future__ import annotations

import io

import pytest

from chatapp import schemas
from tests.support.documents import new_collection, pdf_bytes, run_jobs, upload

HTML = b"""<!DOCTYPE html><html><head><title>Page</title><style>p { color: red }</style>
<script>document.write("evil")</script></head>
<body><h1>Heading</h1><p>First <b>bold</b> paragraph.</p><script>alert(1)</script>
<p>Second paragraph.</p></body></html>"""


# A small upload limit, so a 413 needs no big body.
pytestmark = pytest.mark.app_config(UPLOAD_MAX_BYTES=300 * 1024)


def text_of(user, document_id: str) -> str:
    """The extracted text of a document."""
    return user.call("GET", f"/api/v1/documents/{document_id}").json["text"]


def test_plain_text_and_markdown(app, alice):
    """Text and Markdown are stored as sent, titled by their file name unless given."""
    collection = new_collection(alice)
    plain = upload(alice, collection, "notes.txt", b"Line one.\r\n\r\nLine two.")
    assert plain.status_code == 201
    assert plain.json["status"] == "pending" and plain.json["mimeType"] == "text/plain"
    assert plain.json["title"] == "notes.txt" and plain.json["source"] == "notes.txt"
    assert text_of(alice, plain.json["id"]) == "Line one.\n\nLine two."
    markdown = upload(
        alice,
        collection,
        "guide.md",
        b"# Guide\n\nSome *text*.",
        title="The guide",
        url="https://example.com/guide",
    )
    assert markdown.status_code == 201 and markdown.json["mimeType"] == "text/markdown"
    assert markdown.json["title"] == "The guide"
    assert markdown.json["url"] == "https://example.com/guide"
    run_jobs(app)
    listed = alice.call("GET", f"/api/v1/collections/{collection}/documents").json
    assert {d["status"] for d in listed["documents"]} == {"ready"} and listed["total"] == 2


def test_html_keeps_visible_text_only(alice):
    """Scripts and styles are dropped; the markup's text is kept."""
    collection = new_collection(alice)
    response = upload(alice, collection, "page.html", HTML)
    assert response.status_code == 201 and response.json["mimeType"] == "text/html"
    text = text_of(alice, response.json["id"])
    assert "Heading" in text and "First" in text and "Second paragraph." in text
    assert "alert" not in text and "evil" not in text and "color" not in text
    assert "<" not in text
    sniffed = upload(alice, collection, "download", b"<html><body><p>Sniffed</p></body></html>")
    assert sniffed.json["mimeType"] == "text/html"
    assert text_of(alice, sniffed.json["id"]) == "Sniffed"


def test_pdf_keeps_page_offsets(app, alice):
    """A PDF's text is extracted page by page; each chunk knows its page."""
    collection = new_collection(alice)
    data = pdf_bytes(["Alpha page talks about apples.", "Beta page talks about bananas."])
    response = upload(alice, collection, "fruit.pdf", data)
    assert response.status_code == 201
    assert response.json["mimeType"] == "application/pdf" and response.json["pageCount"] == 2
    text = text_of(alice, response.json["id"])
    assert "apples" in text and "bananas" in text
    assert text.index("bananas") > text.index("apples")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("archive.zip", b"PK\x03\x04\x14\x00\x00\x00"),
        ("script.py", b"print('hello')"),
        ("fake.pdf", b"not really a pdf"),
    ],
)
def test_unsupported_types_are_415_with_the_supported_list(alice, name, data):
    """Anything but text, Markdown, HTML or PDF is refused and nothing is stored."""
    collection = new_collection(alice)
    response = upload(alice, collection, name, data)
    assert response.status_code == 415
    body = response.json
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    for kind in ("text/plain", "text/markdown", "text/html", "application/pdf"):
        assert kind in body["message"]
    assert alice.call("GET", f"/api/v1/collections/{collection}/documents").json["total"] == 0


def test_empty_and_missing_files(alice):
    """A file with no text is a 422; a form without ``file`` is a 400."""
    collection = new_collection(alice)
    empty = upload(alice, collection, "blank.txt", b"  \n\n ")
    assert empty.status_code == 422 and empty.json["code"] == "EMPTY_DOCUMENT"
    scanned = upload(alice, collection, "scan.pdf", pdf_bytes([""]))
    assert scanned.status_code == 422 and "scanned PDF" in scanned.json["message"]
    missing = alice.call(
        "POST",
        f"/api/v1/collections/{collection}/documents",
        data={"title": "x"},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 400 and missing.json["details"][0]["field"] == "file"


def test_upload_limit_is_its_own_and_json_routes_keep_theirs(alice):
    """Uploads take up to UPLOAD_MAX_BYTES (413 past it); other routes keep 256 KB."""
    collection = new_collection(alice)
    big = b"word " * (280 * 1024 // 5)  # over 256 KB, under the 300 KB upload limit
    accepted = upload(alice, collection, "big.txt", big)
    assert accepted.status_code == 201
    too_big = upload(alice, collection, "huge.txt", b"x" * (400 * 1024))
    assert too_big.status_code == 413
    assert set(too_big.json) >= {"error", "message", "code"}
    just_over = upload(alice, collection, "over.txt", b"y" * (300 * 1024 + 10))
    assert just_over.status_code == 413 and just_over.json["code"] == "FILE_TOO_LARGE"
    elsewhere = alice.call(
        "POST", "/api/v1/collections", {"name": "n" * 10, "description": "d" * (300 * 1024)}
    )
    assert elsewhere.status_code == 413
    assert alice.call("GET", f"/api/v1/collections/{collection}/documents").json["total"] == 1


def test_other_routes_still_refuse_multipart(alice):
    """Only the upload route takes multipart; JSON routes answer 415 for it."""
    response = alice.call(
        "POST", "/api/v1/collections", data={"name": "x"}, content_type="multipart/form-data"
    )
    assert response.status_code == 415


def test_same_content_twice_is_one_document(alice):
    """The same text in a collection answers 200 with the existing document."""
    collection = new_collection(alice)
    first = upload(alice, collection, "a.txt", b"Same words here.")
    second = upload(alice, collection, "b.txt", b"Same words here.\n")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json["id"] == first.json["id"] and second.json["title"] == "a.txt"
    as_json = alice.call(
        "POST",
        f"/api/v1/collections/{collection}/documents",
        {"title": "Again", "text": "Same words here."},
    )
    assert as_json.status_code == 200 and as_json.json["id"] == first.json["id"]
    other = new_collection(alice, "Other")
    assert upload(alice, other, "a.txt", b"Same words here.").status_code == 201


def test_json_document_validation(alice):
    """A JSON document needs a title and text; a bad URL is refused."""
    collection = new_collection(alice)
    path = f"/api/v1/collections/{collection}/documents"
    missing = alice.call("POST", path, {"text": "x"})
    assert missing.status_code == 400 and missing.json["code"] == "VALIDATION_ERROR"
    bad_url = alice.call("POST", path, {"title": "t", "text": "x", "url": "javascript:alert(1)"})
    assert bad_url.status_code == 400
    assert alice.call("GET", path).json["total"] == 0


def test_uploads_have_their_own_rate_limit(app, alice):
    """Past RATELIMIT_UPLOADS a user's uploads are 429, while reads go on."""
    app.config["RATELIMIT_UPLOADS"] = "2 per hour"
    collection = new_collection(alice)
    for n in range(2):
        assert upload(alice, collection, f"{n}.txt", f"text {n}".encode()).status_code == 201
    limited = upload(alice, collection, "3.txt", b"text 3")
    assert limited.status_code == 429 and limited.json["code"] == "TOO_MANY_REQUESTS"
    assert alice.call("GET", f"/api/v1/collections/{collection}/documents").status_code == 200


def test_browser_upload_needs_csrf(app, client, auth):
    """A cookie-authenticated upload needs the page's CSRF header, like every write."""
    auth.login()
    headers = auth.csrf_headers()
    created = client.post("/api/v1/collections", json={"name": "Web"}, headers=headers)
    path = f"/api/v1/collections/{created.json['id']}/documents"
    form = {"file": (io.BytesIO(b"hello"), "a.txt")}
    refused = client.post(path, data=form, content_type="multipart/form-data")
    assert refused.status_code == 403
    form = {"file": (io.BytesIO(b"hello"), "a.txt")}
    accepted = client.post(path, data=form, content_type="multipart/form-data", headers=headers)
    assert accepted.status_code == 201


def test_responses_match_their_declared_schemas(app, alice):
    """What the routes send is what the OpenAPI document says they send."""
    collection = new_collection(alice)
    added = upload(alice, collection, "a.md", b"# A\n\nText.")
    schemas.DocumentOut.model_validate(added.json)
    run_jobs(app)
    listing = alice.call("GET", f"/api/v1/collections/{collection}/documents").json
    schemas.DocumentList.model_validate(listing)
    detail = alice.call("GET", f"/api/v1/documents/{added.json['id']}").json
    assert schemas.DocumentDetail.model_validate(detail).status == "ready"
    schemas.CollectionList.model_validate(alice.call("GET", "/api/v1/collections").json)
    one = alice.call("GET", f"/api/v1/collections/{collection}").json
    schemas.CollectionOut.model_validate(one)
    spec = alice.call("GET", "/api/v1/openapi.json").json
    body = spec["paths"]["/api/v1/collections/{collection_id}/documents"]["post"]["requestBody"]
    assert set(body["content"]) == {"multipart/form-data", "application/json"}
