"""Files attached to messages: images, PDFs and text, stored so every host can serve them.

The views and the chat services call only what is exported here.
"""

from chatapp.services.files.service import (
    attach,
    attached_to,
    check_attachments,
    contents,
    copies_of,
    delete_file,
    delete_for_session,
    get_file,
    list_files,
    read_content,
    remove_unattached,
    upload,
)
from chatapp.services.files.store import FileStore, init_app
from chatapp.services.files.types import SUPPORTED

__all__ = [
    "SUPPORTED",
    "FileStore",
    "attach",
    "attached_to",
    "check_attachments",
    "contents",
    "copies_of",
    "delete_file",
    "delete_for_session",
    "get_file",
    "init_app",
    "list_files",
    "read_content",
    "remove_unattached",
    "upload",
]
