"""Files API (``/api/v1/files``): upload a file to attach to a message, list, read, delete.

Content is served only to its owner, as a download in the type decided when it was
stored, with headers that keep a browser from running it: ``nosniff``, a
``Content-Disposition: attachment`` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Response, g, request, send_file
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.errors import ApiError
from chatapp.ratelimits import file_limit, session_limit
from chatapp.services import files

from .views import large_body, upload_body, uploaded_file

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("files", __name__, url_prefix="/v1", abp_security=AUTH)
tag = Tag(name="files", description="Images, PDFs and text files to attach to messages")
READ_ERRORS = {**schemas.errors(404), **schemas.AUTHED_ERRORS}
UPLOAD_BODY = upload_body({"type": "string", "format": "binary"})
# What a download may be served as; any other stored text type is served as text/plain.
SERVED_TYPES = ("image/png", "image/jpeg", "image/webp", "application/pdf")
BINARY = {"schema": {"type": "string", "format": "binary"}}
CONTENT_RESPONSE = {
    "description": "The file's bytes, as a download, in the type decided at upload "
    "(text files as text/plain)",
    "content": {kind: BINARY for kind in (*SERVED_TYPES, "text/plain")},
}
# Nothing in a served file may load, run or navigate, even if opened directly.
CONTENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@bp.post(
    "/files",
    tags=[tag],
    responses={201: schemas.FileOut, **schemas.errors(422), **schemas.BODY_ERRORS},
    openapi_extensions=UPLOAD_BODY,
)
@large_body("FILES_MAX_BYTES")
@file_limit
def upload_file() -> tuple[dict[str, Any], int]:
    """Upload a file (multipart ``file``) to attach to a message within
    ``FILES_UNATTACHED_TTL``: an image (PNG, JPEG, WEBP, HEIC/HEIF, GIF), a PDF, or text.

    The type comes from the content; a GIF is stored as a PNG of its first frame, a
    HEIC/HEIF photo as a JPEG; location data is removed from images.
    """
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the file as multipart/form-data, in a field named 'file'.",
        )
    upload = uploaded_file()
    file = files.upload(g.user, upload.read(), upload.filename)
    return schemas.FileOut.of(file).body(), 201


@bp.get("/files", tags=[tag], responses={200: schemas.FileList, **READ_ERRORS})
@session_limit
def list_files(query: schemas.FileQuery) -> dict[str, Any]:
    """List the caller's files, newest first (``limit``, ``offset``)."""
    found, total = files.list_files(g.user, query.limit, query.offset)
    return schemas.FileList.of(found, total).body()


@bp.get("/files/<file_id>", tags=[tag], responses={200: schemas.FileOut, **READ_ERRORS})
@session_limit
def get_file(path: schemas.FilePath) -> dict[str, Any]:
    """Return a file's name, type, size (and an image's width and height)."""
    return schemas.FileOut.of(files.get_file(g.user, path.file_id)).body()


@bp.get("/files/<file_id>/content", tags=[tag], responses={200: CONTENT_RESPONSE, **READ_ERRORS})
@session_limit
def download_file(path: schemas.FilePath) -> Response:
    """Download a file's bytes (``Content-Disposition: attachment``)."""
    file, data = files.read_content(g.user, path.file_id)
    served = file.mime_type if file.mime_type in SERVED_TYPES else "text/plain"
    response = send_file(
        io.BytesIO(data),
        mimetype=served,
        as_attachment=True,
        download_name=file.name,
        etag=file.sha256,
        max_age=0,
    )
    response.headers.update(CONTENT_HEADERS)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.delete(
    "/files/<file_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@session_limit
def delete_file(path: schemas.FilePath) -> dict[str, Any]:
    """Delete a file (also from the message it is attached to)."""
    key = files.delete_file(g.user, path.file_id)
    return schemas.Deleted(message="File deleted", id=str(key)).body()
