"""Knowledge API (``/api/v1``): collections, and the documents in them."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ValidationError

from chatapp import schemas
from chatapp.errors import validation_error
from chatapp.models import Collection, Document
from chatapp.ratelimits import session_limit, upload_limit
from chatapp.services.knowledge import collections, documents

from .views import accepts_upload, upload_body, uploaded_file

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("knowledge", __name__, url_prefix="/v1", abp_security=AUTH)
tag = Tag(name="knowledge", description="Collections of documents the model answers from")
READ_ERRORS = {**schemas.errors(404), **schemas.AUTHED_ERRORS}
WRITE_ERRORS = {**schemas.errors(404), **schemas.BODY_ERRORS}
UPLOAD_ERRORS = {**schemas.errors(404, 415, 422), **schemas.BODY_ERRORS}
# The upload route parses its body itself (multipart or JSON), so its body is declared here.
UPLOAD_BODY = upload_body(
    {"type": "string", "format": "binary", "minLength": 1},
    {"title": {"type": "string", "maxLength": 500}, "url": {"type": "string", "format": "uri"}},
    json=schemas.DocumentTextIn.model_json_schema(),
)


@bp.get("/collections", tags=[tag], responses={200: schemas.CollectionList, **READ_ERRORS})
@session_limit
def list_collections() -> dict[str, Any]:
    """List the caller's collections and the shared ones, by name."""
    found = collections.list_collections(g.user)
    counts = collections.document_counts(found)
    items = [_collection(c, counts.get(c.id, 0)) for c in found]
    return schemas.CollectionList.of(items).body()


@bp.post("/collections", tags=[tag], responses={201: schemas.CollectionOut, **WRITE_ERRORS})
@session_limit
def create_collection(body: schemas.CollectionIn) -> tuple[dict[str, Any], int]:
    """Create a collection (``shared: true`` for administrators only)."""
    collection = collections.create_collection(g.user, body.name, body.description, body.shared)
    return _collection(collection).body(), 201


@bp.get(
    "/collections/<collection_id>",
    tags=[tag],
    responses={200: schemas.CollectionOut, **READ_ERRORS},
)
@session_limit
def get_collection(path: schemas.CollectionPath) -> dict[str, Any]:
    """Return a collection the caller may read."""
    collection = collections.get_collection(g.user, path.collection_id)
    return _collection(collection, _count(collection)).body()


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
    return _collection(collection, _count(collection)).body()


@bp.delete(
    "/collections/<collection_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **WRITE_ERRORS},
)
@session_limit
def delete_collection(path: schemas.CollectionPath) -> dict[str, Any]:
    """Delete a collection with all its documents."""
    key = collections.delete_collection(g.user, path.collection_id)
    return schemas.Deleted(message="Collection deleted", id=str(key)).body()


def _collection(collection: Collection, count: int = 0) -> schemas.CollectionOut:
    """``collection`` as the caller sees it, holding ``count`` documents."""
    writable = collections.may_write(g.user, collection)
    return schemas.CollectionOut.of(collection, writable=writable, count=count)


def _count(collection: Collection) -> int:
    """How many documents ``collection`` holds."""
    return collections.document_counts([collection]).get(collection.id, 0)


@bp.get(
    "/collections/<collection_id>/documents",
    tags=[tag],
    responses={200: schemas.DocumentList, **READ_ERRORS},
)
@session_limit
def list_documents(path: schemas.CollectionPath) -> dict[str, Any]:
    """List a collection's documents with their indexing status and progress."""
    collection, found = documents.list_documents(g.user, path.collection_id)
    writable = collections.may_write(g.user, collection)
    items = [schemas.DocumentOut.of(d, writable=writable) for d in found]
    return schemas.DocumentList.of(items).body()


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
    return _document(schemas.DocumentOut, document).body(), 201 if created else 200


def _add_upload(collection_id: str) -> Any:
    """Add the multipart upload of this request."""
    upload = uploaded_file()
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
    return _document(schemas.DocumentDetail, document).body()


@bp.delete(
    "/documents/<document_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **WRITE_ERRORS},
)
@session_limit
def delete_document(path: schemas.DocumentPath) -> dict[str, Any]:
    """Delete a document; its passages leave search at once."""
    key = documents.delete_document(g.user, path.document_id)
    return schemas.Deleted(message="Document deleted", id=str(key)).body()


@bp.post(
    "/documents/<document_id>/reindex",
    tags=[tag],
    responses={200: schemas.DocumentOut, **WRITE_ERRORS},
)
@upload_limit
def reindex_document(path: schemas.DocumentPath) -> dict[str, Any]:
    """Index a document again (a failed one, or to re-embed it); it answers ``pending``."""
    document = documents.reindex(g.user, path.document_id)
    return _document(schemas.DocumentOut, document).body()


def _document(shape: type[schemas.DocumentOut], document: Document) -> schemas.DocumentOut:
    """``document`` in ``shape``, as the caller sees it."""
    writable = collections.may_write(g.user, document.collection)
    return shape.of(document, writable=writable)
