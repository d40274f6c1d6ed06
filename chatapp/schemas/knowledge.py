"""Knowledge collections and documents (``/api/v1/collections``, ``/api/v1/documents``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, Field

from chatapp.schemas.common import NO_NUL, NOT_BLANK, Out, Strict, Timestamp

if TYPE_CHECKING:
    from chatapp.models import Collection, Document

__all__ = [
    "CollectionIn",
    "CollectionList",
    "CollectionOut",
    "CollectionPatch",
    "CollectionPath",
    "DocumentDetail",
    "DocumentError",
    "DocumentList",
    "DocumentOut",
    "DocumentPath",
    "DocumentTextIn",
    "UploadForm",
]

Name = Field(min_length=1, max_length=200, pattern=NOT_BLANK)
Url = Field(None, max_length=2000, pattern=r"^https?://[^\s\x00]+$")


class CollectionIn(Strict):
    """A new collection; ``shared`` (readable by everyone) is for administrators."""

    name: str = Name
    description: str | None = Field(None, max_length=2000, pattern=NO_NUL)
    shared: bool = False


class CollectionPatch(Strict):
    """Changes to a collection; only administrators change ``shared``."""

    name: str | None = Field(None, min_length=1, max_length=200, pattern=NOT_BLANK)
    description: str | None = Field(None, max_length=2000, pattern=NO_NUL)
    shared: bool | None = None


class CollectionOut(Out):
    """A collection the caller may read."""

    id: str
    name: str
    description: str | None
    shared: bool = Field(description="Readable by every user; written by administrators")
    writable: bool = Field(description="The caller may add and delete documents")
    documentCount: int
    createdAt: Timestamp
    updatedAt: Timestamp

    @classmethod
    def of(cls, collection: Collection, *, writable: bool, count: int = 0) -> CollectionOut:
        """A stored collection; ``writable`` for the caller, holding ``count`` documents."""
        return cls.from_object(
            collection,
            id=str(collection.id),
            shared=collection.owner_id is None,
            writable=writable,
            documentCount=count,
            createdAt=collection.created_at,
            updatedAt=collection.updated_at,
        )


class CollectionList(Out):
    """The caller's collections and the shared ones."""

    collections: list[CollectionOut]
    total: int

    @classmethod
    def of(cls, items: list[CollectionOut]) -> CollectionList:
        """The list of ``items``."""
        return cls(collections=items, total=len(items))


class CollectionPath(BaseModel):
    """A collection id in the path."""

    collection_id: str


class DocumentPath(BaseModel):
    """A document id in the path."""

    document_id: str


class DocumentTextIn(Strict):
    """A document given as text (the JSON form of adding a document)."""

    title: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)
    text: str = Field(min_length=1, pattern=NO_NUL)
    url: str | None = Url


class UploadForm(BaseModel):
    """The form fields sent with an uploaded ``file``."""

    title: str | None = Field(None, max_length=500, pattern=NO_NUL)
    url: str | None = Url


class DocumentError(Out):
    """Why indexing failed (the same codes as chat's model errors)."""

    code: str | None
    message: str | None


class DocumentOut(Out):
    """A document and its indexing status.

    Added by multipart upload (``file``, optional ``title`` and ``url``) or by JSON
    (:class:`DocumentTextIn`): 201 when new, 200 with the existing document when the
    collection already holds the same text.
    """

    id: str
    collectionId: str
    title: str
    url: str | None
    source: str | None = Field(description="The uploaded file's name")
    mimeType: str
    size: int
    status: Literal["pending", "indexing", "ready", "failed"]
    error: DocumentError | None
    chunksDone: int
    chunksTotal: int
    embedded: bool = Field(description="Has vectors; false: found by full-text search only")
    pageCount: int | None
    writable: bool
    createdAt: Timestamp
    updatedAt: Timestamp

    @classmethod
    def of(cls, document: Document, *, writable: bool, **extra: object) -> Self:
        """A stored document (its error only when it failed); ``extra`` for a subclass."""
        error = None
        if document.status == "failed":
            error = DocumentError(code=document.error_code, message=document.error_message)
        return cls.from_object(
            document,
            id=str(document.id),
            collectionId=str(document.collection_id),
            mimeType=document.mime_type,
            error=error,
            chunksDone=document.chunks_done,
            chunksTotal=document.chunks_total,
            pageCount=len(document.pages) if document.pages else None,
            writable=writable,
            createdAt=document.created_at,
            updatedAt=document.updated_at,
            **extra,
        )


class DocumentDetail(DocumentOut):
    """A document with its extracted text."""

    text: str


class DocumentList(Out):
    """A collection's documents, newest first."""

    documents: list[DocumentOut]
    total: int

    @classmethod
    def of(cls, items: list[DocumentOut]) -> DocumentList:
        """The list of ``items``."""
        return cls(documents=items, total=len(items))
