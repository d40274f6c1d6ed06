"""Files for the knowledge tests: a real PDF built byte by byte, and API helpers."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

from chatapp.extensions import db
from chatapp.services import accounts, jobs


def pdf_bytes(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (no PDF library needed)."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
    ]
    for index, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * index}"
            f" 0 R /Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode())
    return out.getvalue()


def make_admin(app: Flask, username: str) -> None:
    """Make ``username`` an administrator."""
    with app.app_context():
        user = accounts.find_user(username)
        assert user is not None
        user.is_admin = True
        db.session.commit()


def run_jobs(app: Flask) -> int:
    """Run every due background job, as a runner would; return how many ran."""
    with app.app_context():
        try:
            return jobs.run_pending()
        finally:
            db.session.remove()


def upload(user: Any, collection_id: str, name: str, data: bytes, **fields: str) -> Any:
    """Upload a file to a collection as ``user`` (multipart)."""
    form = {"file": (io.BytesIO(data), name), **fields}
    return user.call(
        "POST",
        f"/api/v1/collections/{collection_id}/documents",
        data=form,
        content_type="multipart/form-data",
    )


def new_collection(user: Any, name: str = "Notes", **fields: Any) -> str:
    """Create a collection as ``user``; return its id."""
    response = user.call("POST", "/api/v1/collections", {"name": name, **fields})
    assert response.status_code == 201, response.json
    return response.json["id"]
