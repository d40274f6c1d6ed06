"""Uploading files: each type decided from the content, location data removed, the safe
download, limits (413), refusals (400, 415, 422), and another user's file (404)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import FileBlob, UploadedFile
from tests.support.documents import pdf_bytes
from tests.support.files import (
    GPS_IFD,
    ORIENTATION,
    animated_gif,
    image_bytes,
    opened,
    photo_with_location,
    png_header_only,
    upload_file,
)

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
# A small file limit, so a 413 needs no big body.
pytestmark = pytest.mark.app_config(FILES_MAX_BYTES=100 * 1024)


def content(user, file_id: str):
    """The download response of a file."""
    return user.call("GET", f"/api/v1/files/{file_id}/content")


def stored_counts(app) -> tuple[int, int]:
    """How many files and blobs the database holds."""
    with app.app_context():
        files = db.session.scalar(select(func.count()).select_from(UploadedFile))
        blobs = db.session.scalar(select(func.count()).select_from(FileBlob))
        return files, blobs


def test_png_is_stored_as_sent_and_downloads_safely(alice):
    """A PNG without location data is kept byte for byte; its download is an attachment
    that a browser will not sniff or run."""
    data = image_bytes("PNG", (40, 20))
    created = upload_file(alice, "screen shot.png", data)
    assert created.status_code == 201
    body = created.json
    assert body["mimeType"] == "image/png" and body["name"] == "screen shot.png"
    assert (body["width"], body["height"], body["size"]) == (40, 20, len(data))
    assert alice.call("GET", f"/api/v1/files/{body['id']}").json == body
    download = content(alice, body["id"])
    assert download.status_code == 200 and download.data == data
    assert download.mimetype == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "screen shot.png" in download.headers["Content-Disposition"]
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_download_name_is_safe(alice):
    """A name with a path, quotes, control characters and accents is kept as its last
    part, without control characters, and sent percent-encoded in Content-Disposition."""
    created = upload_file(alice, "..\\..\\etc/ré\tsumé\x7f; 'x'.txt", b"cv")
    assert created.status_code == 201 and created.json["name"] == "résumé; 'x'.txt"
    disposition = content(alice, created.json["id"]).headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\t" not in disposition
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%3B%20%27x%27.txt" in disposition


def test_photo_loses_its_location_but_keeps_its_orientation(alice):
    """GPS EXIF and XMP are removed before storage; the orientation tag stays, and the
    size is reported as displayed (a quarter turn swaps width and height)."""
    data = photo_with_location("JPEG", orientation=6)
    assert opened(data).getexif().get_ifd(GPS_IFD)  # the test photo does say where
    created = upload_file(alice, "holiday.jpg", data)
    assert created.status_code == 201 and created.json["mimeType"] == "image/jpeg"
    assert (created.json["width"], created.json["height"]) == (20, 40)
    stored = content(alice, created.json["id"]).data
    assert b"GPSLatitude" not in stored
    image = opened(stored)
    exif = image.getexif()
    assert GPS_IFD not in exif and exif.get(ORIENTATION) == 6
    # colours unchanged (the profile carries its creation time: compare with the upload's)
    assert image.info["icc_profile"] == opened(data).info["icc_profile"]
    assert created.json["size"] == len(stored)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_location_removed_from_png_and_webp(alice, fmt):
    """EXIF GPS is removed from PNG and WEBP too."""
    created = upload_file(alice, f"map.{fmt.lower()}", photo_with_location(fmt, orientation=1))
    assert created.status_code == 201 and created.json["mimeType"] == f"image/{fmt.lower()}"
    assert GPS_IFD not in opened(content(alice, created.json["id"]).data).getexif()


def test_gif_becomes_png_of_its_first_frame(alice):
    """An animated GIF is stored as a PNG of its first frame, renamed to match."""
    created = upload_file(alice, "dance.gif", animated_gif())
    assert created.status_code == 201
    assert created.json["mimeType"] == "image/png" and created.json["name"] == "dance.png"
    image = opened(content(alice, created.json["id"]).data)
    assert image.format == "PNG" and image.size == (16, 8)
    assert image.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_heic_becomes_jpeg(alice):
    """A HEIC photo (decoded by pillow-heif) is stored as a JPEG every browser shows."""
    created = upload_file(alice, "IMG_0001.HEIC", image_bytes("HEIF", (32, 16)))
    assert created.status_code == 201
    assert created.json["mimeType"] == "image/jpeg" and created.json["name"] == "IMG_0001.jpg"
    assert opened(content(alice, created.json["id"]).data).size == (32, 16)


def test_heic_loses_its_location(alice):
    """A HEIC photo's GPS EXIF does not reach the stored JPEG."""
    data = photo_with_location("HEIF", orientation=1)
    assert opened(data).getexif().get_ifd(GPS_IFD)  # the test photo does say where
    created = upload_file(alice, "IMG_0002.heic", data)
    assert created.status_code == 201 and created.json["mimeType"] == "image/jpeg"
    assert GPS_IFD not in opened(content(alice, created.json["id"]).data).getexif()


def test_content_wins_over_the_name(alice):
    """A PNG named .pdf is a PNG (renamed .png); a PDF named .txt is a PDF."""
    png = upload_file(alice, "report.pdf", image_bytes("PNG"))
    assert png.status_code == 201
    assert png.json["mimeType"] == "image/png" and png.json["name"] == "report.png"
    pdf = upload_file(alice, "notes.txt", pdf_bytes(["Hello"]))
    assert pdf.status_code == 201
    assert pdf.json["mimeType"] == "application/pdf" and pdf.json["name"] == "notes.pdf"
    assert content(alice, pdf.json["id"]).mimetype == "application/pdf"


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("notes.txt", "text/plain"),
        ("README.md", "text/markdown"),
        ("data.csv", "text/csv"),
        ("config.json", "application/json"),
        ("main.py", "text/x-python"),
        ("Makefile", "text/plain"),
        ("page.html", "text/plain"),
        ("logo.svg", "text/plain"),
    ],
)
def test_text_types_by_extension(alice, name, mime):
    """UTF-8 text is typed by its extension among text types; markup is plain text, and
    every text file downloads as text/plain."""
    data = "naïve text, 1,2,3\n".encode()
    created = upload_file(alice, name, data)
    assert created.status_code == 201 and created.json["mimeType"] == mime
    assert "width" not in created.json
    download = content(alice, created.json["id"])
    assert download.data == data
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_markup_never_served_as_markup(alice):
    """HTML and SVG uploads download as text/plain, sandboxed, never as a page or image."""
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, data in (("page.html", HTML), ("logo.svg", svg)):
        download = content(alice, upload_file(alice, name, data).json["id"])
        assert download.mimetype == "text/plain"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_polyglot_is_what_it_decodes_as(alice):
    """A PNG with HTML after its end is stored as the PNG it decodes as, and served only as
    image/png (nosniff, sandboxed), so the HTML never runs."""
    polyglot = image_bytes("PNG") + HTML
    created = upload_file(alice, "trick.html", polyglot)
    assert created.status_code == 201 and created.json["mimeType"] == "image/png"
    assert created.json["name"] == "trick.png"
    download = content(alice, created.json["id"])
    assert download.mimetype == "image/png"
    assert download.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cat.png", HTML),  # HTML named .png
        ("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 30),
        ("notes.txt", b"text with a NUL \x00 inside"),
        ("latin.txt", "café".encode("latin-1")),
        ("song.mp3", b"ID3 plain enough text"),
    ],
)
def test_unsupported_types_are_415_with_the_list(app, alice, name, data):
    """Anything not decoded as a supported type is a 415 listing them; nothing is stored."""
    response = upload_file(alice, name, data)
    assert response.status_code == 415 and response.json["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "PNG, JPEG, WEBP, HEIC/HEIF" in response.json["message"]
    assert response.json["details"][0]["code"] == "supported_types"
    assert stored_counts(app) == (0, 0)


def test_empty_file_is_400(app, alice):
    """A 0-byte file is a 400 ``EMPTY_FILE`` whatever its name."""
    for name in ("empty.png", "empty.txt"):
        response = upload_file(alice, name, b"")
        assert response.status_code == 400 and response.json["code"] == "EMPTY_FILE"
    assert stored_counts(app) == (0, 0)


def test_damaged_pdf_is_422(alice):
    """A file that starts like a PDF but does not open in pypdf is a 422."""
    response = upload_file(alice, "broken.pdf", b"%PDF-1.4\nthis is not a pdf at all")
    assert response.status_code == 422 and response.json["code"] == "UNREADABLE_PDF"


def test_file_over_the_limit_is_413_with_the_limit(app, alice):
    """Past FILES_MAX_BYTES, just past or far past (refused while reading the body), a 413
    names the limit; nothing is stored."""
    just_over = b"a" * (100 * 1024 + 1)
    far_over = b"a" * (400 * 1024)
    for data in (just_over, far_over):
        response = upload_file(alice, "big.txt", data)
        assert response.status_code == 413 and response.json["code"] == "FILE_TOO_LARGE"
        assert str(100 * 1024) in response.json["message"]
        assert "FILES_MAX_BYTES" in response.json["message"]
    assert upload_file(alice, "fits.txt", b"a" * 100 * 1024).status_code == 201


@pytest.mark.app_config(FILES_MAX_PIXELS=500)
def test_image_with_too_many_pixels_is_413(app, alice):
    """An image past FILES_MAX_PIXELS, and a decompression bomb's header (billions of
    pixels, a few bytes), are refused before being decoded."""
    for data in (image_bytes("PNG", (40, 20)), png_header_only(100_000, 100_000)):
        response = upload_file(alice, "huge.png", data)
        assert response.status_code == 413 and response.json["code"] == "IMAGE_TOO_LARGE"
        assert "500 pixels" in response.json["message"]
    assert stored_counts(app) == (0, 0)


def test_decompression_bomb_refused_at_default_limit(alice):
    """With the default FILES_MAX_PIXELS, a bomb's header is still a 413."""
    response = upload_file(alice, "bomb.png", png_header_only(100_000, 100_000))
    assert response.status_code == 413 and response.json["code"] == "IMAGE_TOO_LARGE"


@pytest.mark.app_config(FILES_USER_QUOTA_BYTES=3000)
def test_user_quota_is_413_with_the_limit(app, alice, bob):
    """Past FILES_USER_QUOTA_BYTES a user's upload is a 413 naming it; deleting frees room;
    other users have their own quota."""
    first = upload_file(alice, "a.txt", b"a" * 2000)
    assert first.status_code == 201
    refused = upload_file(alice, "b.txt", b"b" * 1001)
    assert refused.status_code == 413 and refused.json["code"] == "STORAGE_QUOTA_EXCEEDED"
    assert "3000 bytes" in refused.json["message"]
    assert "FILES_USER_QUOTA_BYTES" in refused.json["message"]
    assert upload_file(alice, "c.txt", b"c" * 1000).status_code == 201
    assert upload_file(bob, "b.txt", b"b" * 1001).status_code == 201
    alice.call("DELETE", f"/api/v1/files/{first.json['id']}")
    assert upload_file(alice, "b.txt", b"b" * 1001).status_code == 201


def test_upload_needs_a_multipart_file(alice):
    """A form without ``file`` is a 400; a JSON body is a 415."""
    form = alice.call(
        "POST", "/api/v1/files", data={"name": "x"}, content_type="multipart/form-data"
    )
    assert form.status_code == 400 and form.json["details"][0]["field"] == "file"
    assert alice.call("POST", "/api/v1/files", {"file": "x"}).status_code == 415


def test_list_is_own_files_newest_first_paged(alice, bob):
    """The list holds the caller's files only, newest first, in pages."""
    ids = [upload_file(alice, f"{n}.txt", b"x").json["id"] for n in range(3)]
    upload_file(bob, "bob.txt", b"x")
    page = alice.call("GET", "/api/v1/files?limit=2").json
    assert page["total"] == 3 and [f["id"] for f in page["files"]] == ids[::-1][:2]
    rest = alice.call("GET", "/api/v1/files?limit=2&offset=2").json
    assert [f["id"] for f in rest["files"]] == ids[:1]
    assert alice.call("GET", "/api/v1/files?limit=0").status_code == 400


def test_delete_removes_file_and_bytes(app, alice):
    """Deleting a file removes its metadata and its bytes; again, it is a 404."""
    created = upload_file(alice, "a.txt", b"hello")
    path = f"/api/v1/files/{created.json['id']}"
    assert stored_counts(app) == (1, 1)
    deleted = alice.call("DELETE", path)
    assert deleted.status_code == 200 and deleted.json["id"] == created.json["id"]
    assert stored_counts(app) == (0, 0)
    for method, suffix in (("GET", ""), ("GET", "/content"), ("DELETE", "")):
        assert alice.call(method, path + suffix).status_code == 404


def test_another_users_file_is_404_everywhere(app, alice, bob):
    """bob cannot see, download or delete alice's file (404, as if missing); ids that
    cannot exist are 404s too."""
    created = upload_file(alice, "secret.txt", b"alice's secret")
    mine = f"/api/v1/files/{created.json['id']}"
    impossible = ["nope", "123", str(uuid.UUID(int=0)), str(uuid.uuid4()), "%00"]
    for path in [mine, *(f"/api/v1/files/{key}" for key in impossible)]:
        for method, suffix in (("GET", ""), ("GET", "/content"), ("DELETE", "")):
            response = bob.call(method, path + suffix)
            assert response.status_code == 404, (method, path + suffix)
            assert response.json["code"] == "NOT_FOUND"
    assert bob.call("GET", "/api/v1/files").json["total"] == 0
    assert stored_counts(app) == (1, 1)
    assert content(alice, created.json["id"]).data == b"alice's secret"


@pytest.mark.app_config(RATELIMIT_FILES="1 per minute")
def test_uploads_are_rate_limited(alice, bob):
    """Past RATELIMIT_FILES a user's upload is a 429; reading, and other users, go on."""
    assert upload_file(alice, "a.txt", b"a").status_code == 201
    refused = upload_file(alice, "b.txt", b"b")
    assert refused.status_code == 429 and refused.json["code"] == "TOO_MANY_REQUESTS"
    assert alice.call("GET", "/api/v1/files").json["total"] == 1
    assert upload_file(bob, "b.txt", b"b").status_code == 201
