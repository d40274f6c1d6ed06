"""Knowledge API (``/api/v1``): collections, and the documents in them."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ValidationError

from chatapp import schemas
from chatapp.errors import ApiError, validation_error
from chatapp.ratelimits import session_limit, upload_limit
from chatapp.services.knowledge import collections, documents

from .views import accepts_upload

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("knowledge", __name__, url_prefix="/v1", abp_security=AUTH)
tag = Tag(name="knowledge", description="Collections of documents the model answers from")
READ_ERRORS = {**schemas.errors(404), **schemas.AUTHED_ERRORS}
WRITE_ERRORS = {**schemas.errors(404), **schemas.BODY_ERRORS}
UPLOAD_ERRORS = {**schemas.errors(404, 415, 422), **schemas.BODY_ERRORS}
# The upload route parses its body itself (multipart or JSON), so its body is declared here.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": 500},
                        "url": {"type": "string", "format": "uri"},
                    },
                }
            },
            "application/json": {"schema": schemas.DocumentTextIn.model_json_schema()},
        },
    }
}


@bp.get("/collections", tags=[tag], responses={200: schemas.CollectionList, **READ_ERRORS})
@session_limit
def list_collections() -> dict[str, Any]:
    """List the caller's collections and the shared ones, by name."""
    found = collections.list_collections(g.user)
    counts = collections.document_counts(found)
    items = [collections.to_dict(g.user, c, counts.get(c.id, 0)) for c in found]
    return {"collections": items, "total": len(items)}


@bp.post("/collections", tags=[tag], responses={201: schemas.CollectionOut, **WRITE_ERRORS})
@session_limit
def create_collection(body: schemas.CollectionIn) -> tuple[dict[str, Any], int]:
    """Create a collection (``shared: true`` for administrators only)."""
    collection = collections.create_collection(g.user, body.name, body.description, body.shared)
    return collections.to_dict(g.user, collection), 201


@bp.get(
    "/collections/<collection_id>",
    tags=[tag],
    responses={200: schemas.CollectionOut, **READ_ERRORS},
)
@session_limit
def get_collection(path: schemas.CollectionPath) -> dict[str, Any]:
    """Return a collection the caller may read."""
    collection = collections.get_collection(g.user, path.collection_id)
    count = collections.document_counts([collection]).get(collection.id, 0)
    return collections.to_dict(g.user, collection, count)


@bp.patch(
    "/collections/<collection_id>",
    tags=[tag],
    responses={200: schemas.CollectionOut, **WRITE_ERRORS},
)
@session_limit
def update_collection(
    path: schemas.CollectionPath, body: schemas.CollectionPatch
) -> dict[str, Any]:
    """Rename or describe a collection; administrators may share or unshare it."""
    changes = body.model_dump(exclude_unset=True)
    collection = collections.update_collection(g.user, path.collection_id, changes)
    count = collections.document_counts([collection]).get(collection.id, 0)
    return collections.to_dict(g.user, collection, count)


@bp.delete(
    "/collections/<collection_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **READ_ERRORS},
)
@session_limit
def delete_collection(path: schemas.CollectionPath) -> dict[str, Any]:
    """Delete a collection with all its documents."""
    key = collections.delete_collection(g.user, path.collection_id)
    return {"message": "Collection deleted", "id": str(key)}


@bp.get(
    "/collections/<collection_id>/documents",
    tags=[tag],
    responses={200: schemas.DocumentList, **READ_ERRORS},
)
@session_limit
def list_documents(path: schemas.CollectionPath) -> dict[str, Any]:
    """List a collection's documents with their indexing status and progress."""
    _, found = documents.list_documents(g.user, path.collection_id)
    items = [documents.to_dict(g.user, d) for d in found]
    return {"documents": items, "total": len(items)}


@bp.post(
    "/collections/<collection_id>/documents",
    tags=[tag],
    responses={201: schemas.DocumentOut, 200: schemas.DocumentOut, **UPLOAD_ERRORS},
    openapi_extensions=UPLOAD_BODY,
)
@accepts_upload
@upload_limit
def add_document(path: schemas.CollectionPath) -> tuple[dict[str, Any], int]:
    """Add a document: multipart ``file`` (text, Markdown, HTML, PDF) with optional
    ``title`` and ``url``, or JSON ``{"title", "text", "url"?}``.

    Answers at once with the document ``pending``; indexing runs in the background. The
    same text twice in a collection is one document (200 with the existing one).
    """
    if request.mimetype == "multipart/form-data":
        document, created = _add_upload(path.collection_id)
    else:
        body = _text_body()
        document, created = documents.add_text(
            g.user, path.collection_id, body.title, body.text, body.url
        )
    return documents.to_dict(g.user, document), 201 if created else 200


def _add_upload(collection_id: str) -> Any:
    """Add the multipart upload of this request."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Send the file in a multipart field named 'file'.",
            error="Validation failed",
            details=[{"field": "file", "message": "Field required", "code": "missing"}],
        )
    fields = {name: request.form.get(name) or None for name in ("title", "url")}
    form = _validated(schemas.UploadForm, fields)
    data = upload.read()
    return documents.add_file(g.user, collection_id, data, upload.filename, form.title, form.url)


def _text_body() -> Any:
    """The JSON body of a document given as text."""
    return _validated(schemas.DocumentTextIn, request.get_json(silent=True))


def _validated(model: Any, data: Any) -> Any:
    """Validate ``data`` against ``model``, answering 400 in the usual shape."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


@bp.get(
    "/documents/<document_id>",
    tags=[tag],
    responses={200: schemas.DocumentDetail, **READ_ERRORS},
)
@session_limit
def get_document(path: schemas.DocumentPath) -> dict[str, Any]:
    """Return a document with its status and extracted text."""
    document = documents.get_document(g.user, path.document_id)
    return documents.to_dict(g.user, document, text=True)


@bp.delete(
    "/documents/<document_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **READ_ERRORS},
)
@session_limit
def delete_document(path: schemas.DocumentPath) -> dict[str, Any]:
    """Delete a document; its passages leave search at once."""
    key = documents.delete_document(g.user, path.document_id)
    return {"message": "Document deleted", "id": str(key)}


@bp.post(
    "/documents/<document_id>/reindex",
    tags=[tag],
    responses={200: schemas.DocumentOut, **READ_ERRORS},
)
@upload_limit
def reindex_document(path: schemas.DocumentPath) -> dict[str, Any]:
    """Index a document again (a failed one, or to re-embed it); it answers ``pending``."""
    document = documents.reindex(g.user, path.document_id)
    return documents.to_dict(g.user, document)
