"""Export and import API (``/api/v1/chat``): conversations out as files, and back in."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from flask import Response, current_app, g, request, stream_with_context
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.errors import ApiError, file_too_large
from chatapp.ratelimits import session_limit, transfer_limit
from chatapp.schemas.transfer import EXPORT_FORMAT, EXPORT_VERSION
from chatapp.services import transfer

from .views import accepts_import, upload_body, uploaded_file

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("transfer", __name__, url_prefix="/v1/chat", abp_security=AUTH)
tag = Tag(name="export", description="Conversations exported to files and imported back")
JSON = "application/json"
# Bytes of a JSON import body kept in memory; past it the body is spooled to disk.
SPOOL_BYTES = 1024 * 1024
# What an import reads: a chatapp export or ChatGPT's conversations.json. Each conversation
# is checked on its own: one that does not match ExportedConversation fails alone.
CHATAPP_FILE = {
    "type": "object",
    "description": "A chatapp export (docs/export-format.md)",
    "required": ["format", "version", "conversations"],
    "properties": {
        "format": {"const": EXPORT_FORMAT},
        "version": {"type": "integer", "minimum": 1, "maximum": EXPORT_VERSION},
        "conversations": {"type": "array", "items": {"type": "object"}},
    },
}
CHATGPT_FILE = {
    "type": "array",
    "description": "ChatGPT's conversations.json",
    "items": {"type": "object"},
}
# The import route reads its body itself: the file as a multipart part (a file, or its text
# in a form field), or the JSON as the body.
IMPORT_BODY = upload_body(
    {
        **CHATAPP_FILE,
        "description": "The file: a chatapp export, or ChatGPT's conversations.json (a JSON array)",
    },
    encoding={"file": {"contentType": JSON}},
    json={"oneOf": [CHATAPP_FILE, CHATGPT_FILE]},
)


def attachment(body: Any, mimetype: str, name: str) -> Response:
    """A response the browser saves as the file ``name``."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get(
    "/session/<session_id>/export",
    tags=[tag],
    responses={200: schemas.ConversationExport, **schemas.errors(404), **schemas.AUTHED_ERRORS},
)
@session_limit
def export_session(path: schemas.SessionPath, query: schemas.ExportQuery) -> Response:
    """Download one conversation, as an export file or a Markdown document.

    ``format=json`` (the default) is an export file that can be imported again;
    ``format=markdown`` is a document to read.
    """
    exported = transfer.export_one(g.user, path.session_id)
    conversation = exported.conversations[0]
    if query.format == "markdown":
        name = transfer.filename(conversation.title, "md")
        return attachment(transfer.document(conversation), "text/markdown", name)
    name = transfer.filename(conversation.title, "json")
    return attachment(exported.model_dump_json(indent=2), JSON, name)


@bp.get(
    "/export",
    tags=[tag],
    responses={200: schemas.ExportFile, **schemas.AUTHED_ERRORS},
)
@transfer_limit
def export_everything() -> Response:
    """Download all the caller's conversations as one export file, streamed as it is read."""
    stream = transfer.export_all(g.user)
    body = stream_with_context(stream.chunks())
    return attachment(body, JSON, transfer.filename(None, "json"))


@bp.post(
    "/import",
    tags=[tag],
    responses={200: schemas.ImportOut, **schemas.errors(413, 415), **schemas.BODY_ERRORS},
    openapi_extensions=IMPORT_BODY,
)
@accepts_import
@transfer_limit
def import_conversations() -> dict[str, Any]:
    """Import a chatapp export or ChatGPT's conversations.json.

    Send a multipart ``file`` or the JSON as the body, up to ``IMPORT_MAX_BYTES``.
    Each conversation is imported all or nothing under a new id; one imported before (the
    same content) is skipped. A file that is not an export at all is a 400 and imports
    nothing.
    """
    with _import_file() as file:
        limit = current_app.config["IMPORT_MAX_BYTES"]
        if file.seek(0, io.SEEK_END) > limit:
            raise file_too_large(limit, "IMPORT_MAX_BYTES")
        report = transfer.import_file(g.user, file)
    return schemas.ImportOut.of(report).body()


@contextmanager
def _import_file() -> Iterator[IO[bytes]]:
    """The file to import: the multipart ``file``, or the JSON body spooled to disk."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None and "file" in request.form:  # the file's text as a form field
            yield io.BytesIO(request.form["file"].encode("utf-8"))
            return
        yield uploaded_file().stream
        return
    if request.mimetype != JSON:
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the file as multipart/form-data (field 'file') or as application/json.",
        )
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spooled:
        shutil.copyfileobj(request.stream, spooled)
        yield spooled
