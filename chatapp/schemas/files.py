"""Files attached to messages (``/api/v1/files``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from chatapp.schemas.common import MAX_ID, Out, Timestamp

if TYPE_CHECKING:
    from chatapp.models import UploadedFile

__all__ = ["AttachmentOut", "FileList", "FileOut", "FilePath", "FileQuery"]


class FileOut(Out):
    """An uploaded file: what it is, never its bytes (``/files/{id}/content``)."""

    omit_if_none = ("width", "height")

    id: str
    name: str = Field(description="The uploaded name; its extension follows the stored type")
    mimeType: str = Field(description="Decided from the content, not the name")
    size: int = Field(description="Bytes stored (after a GIF or HEIC is converted)")
    width: int | None = Field(None, description="Images only: pixels across, as displayed")
    height: int | None = Field(None, description="Images only: pixels down, as displayed")
    createdAt: Timestamp

    @classmethod
    def of(cls, file: UploadedFile) -> FileOut:
        """A stored file."""
        return cls.from_object(
            file, id=str(file.id), mimeType=file.mime_type, createdAt=file.created_at
        )


class AttachmentOut(Out):
    """A file attached to a message, as a message item lists it (``width``/``height``
    null unless an image); its bytes are at ``/files/{id}/content``."""

    id: str
    name: str
    mimeType: str
    size: int
    width: int | None = None
    height: int | None = None

    @classmethod
    def of(cls, file: UploadedFile) -> AttachmentOut:
        """An attached file."""
        return cls.from_object(file, id=str(file.id), mimeType=file.mime_type)


class FileList(Out):
    """One page of the caller's files, newest first."""

    files: list[FileOut]
    total: int

    @classmethod
    def of(cls, files: list[UploadedFile], total: int) -> FileList:
        """A page of stored files."""
        return cls(files=[FileOut.of(file) for file in files], total=total)


class FilePath(BaseModel):
    """A file id in the path."""

    file_id: str


class FileQuery(BaseModel):
    """Paging of the file list."""

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_ID)
