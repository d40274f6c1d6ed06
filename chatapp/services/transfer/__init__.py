"""Export and import of conversations (chatapp's own format, ChatGPT's conversations.json)."""

from chatapp.services.transfer.exporting import ExportStream, export_all, export_one, filename
from chatapp.services.transfer.importing import Report, import_file, run
from chatapp.services.transfer.markdown import document
from chatapp.services.transfer.reading import Plan, inspect

__all__ = [
    "ExportStream",
    "Plan",
    "Report",
    "document",
    "export_all",
    "export_one",
    "filename",
    "import_file",
    "inspect",
    "run",
]
