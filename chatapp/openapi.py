"""The OpenAPI document, corrected where flask-openapi3's defaults differ from the app.

* Every 400 is the one error shape (:class:`~chatapp.schemas.ErrorBody`), never
  flask-openapi3's array of validation errors: that is what the app answers.
* Streaming routes answer ``text/event-stream``; their 200 declares that media type, each
  event's ``data`` being JSON of the route's event model.
"""

from __future__ import annotations

from typing import Any

from flask_openapi3 import OpenAPI

from chatapp import schemas

REF = "#/components/schemas/"
ERROR_400 = {
    "description": "Bad Request: a field, query value or body the API refuses",
    "content": {"application/json": {"schema": {"$ref": REF + "ErrorBody"}}},
}
# The models of one server-sent event, as declared on each streaming route's 200.
EVENT_MODELS = {
    model.__name__
    for model in (schemas.StreamEvent, schemas.WeeklyStreamEvent, schemas.InsightStreamEvent)
}
DESCRIPTION = (
    "Every timestamp is an ISO 8601 instant in UTC (`+00:00`). Weekly insights follow the "
    "caller's own time zone (`timezone` of `/api/v1/me`, an IANA name): a week runs from "
    "Saturday 00:00 to Friday 23:59:59 there, and its bounds are given as UTC instants. "
    "Errors share one shape: `{error, message, code, details?}`."
)


def finish_document(spec: dict[str, Any]) -> None:
    """Make the generated document say what the app does (see the module docstring)."""
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses["400"] = ERROR_400
            _declare_event_stream(responses.get("200"))
    spec["components"]["schemas"].pop("ValidationErrorModel", None)


def _declare_event_stream(response: dict[str, Any] | None) -> None:
    """Move a streaming route's 200 from ``application/json`` to ``text/event-stream``."""
    content = (response or {}).get("content", {})
    json = content.get("application/json")
    ref = (json or {}).get("schema", {}).get("$ref", "")
    if ref.removeprefix(REF) in EVENT_MODELS:
        del content["application/json"]
        content["text/event-stream"] = {"schema": event_schema(ref)}
        response["description"] = "Server-sent events; each event's `data` is one JSON object"


def event_schema(ref: str) -> dict[str, Any]:
    """One server-sent event whose ``data`` is JSON matching ``ref`` (as OpenAPI 3.2's
    ``itemSchema`` would say; before 3.2 ``schema`` describes each event)."""
    data = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": ref},
    }
    return {"type": "object", "required": ["data"], "properties": {"data": data}}


class ChatOpenAPI(OpenAPI):
    """flask-openapi3's app, whose document is corrected by :func:`finish_document`."""

    def generate_spec_json(self) -> None:
        """Build the document, then correct it."""
        super().generate_spec_json()
        finish_document(self.spec_json)
