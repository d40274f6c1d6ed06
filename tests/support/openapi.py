"""Holding responses to the OpenAPI document the app serves at ``/api/v1/openapi.json``.

:class:`ResponseChecker` finds the documented response of a request's route, method and
status, and validates the body with ``jsonschema`` (OpenAPI 3.1 schemas are JSON Schema
2020-12). A server-sent event stream is checked event by event against its 200 schema.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException

EVENT_STREAM = "text/event-stream"


def openapi_path(rule: str) -> str:
    """A Flask rule (``/x/<int:id>``) in OpenAPI syntax (``/x/{id}``)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def closed(schema: Any) -> Any:
    """A copy of ``schema`` in which objects allow no keys beyond those documented, so a
    key the document does not mention is a mismatch too."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: closed(value) for key, value in schema.items()}
    if "properties" in copy and "additionalProperties" not in copy:
        copy["additionalProperties"] = False
    return copy


def stream_events(body: str) -> list[Any]:
    """The JSON of each ``data:`` frame of an SSE body (comments skipped)."""
    frames = [frame for frame in body.split("\n\n") if frame.startswith("data: ")]
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


class ResponseChecker:
    """Validates responses against the served OpenAPI document; records what it saw."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.spec = client.get("/api/v1/openapi.json").json
        self.components = closed(self.spec["components"])
        self.urls = app.url_map.bind("localhost")
        self.seen: set[tuple[str, str, int]] = set()
        self.problems: list[str] = []

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The documented path and operation a request is routed to."""
        try:
            rule, _ = self.urls.match(path.split("?")[0], method=method, return_rule=True)
        except HTTPException as exc:
            raise AssertionError(f"{method} {path} is not a route: {exc}") from exc
        template = openapi_path(rule.rule)
        return template, self.spec["paths"][template][method.lower()]

    def check(self, method: str, path: str, response: Any) -> None:
        """Validate one response; mismatches are collected in :attr:`problems`."""
        template, operation = self.operation(method, path)
        status = response.status_code
        where = f"{method} {template} -> {status}"
        self.seen.add((template, method.lower(), status))
        documented = operation["responses"].get(str(status))
        if documented is None:
            self.problems.append(f"{where}: status not documented")
            return
        content = documented.get("content", {})
        if response.mimetype == EVENT_STREAM:
            media = content.get(EVENT_STREAM)
            bodies = stream_events(response.get_data(as_text=True))
        else:
            media = content.get(response.mimetype)
            bodies = [response.get_json() if response.is_json else response.get_data(as_text=True)]
        if media is None:
            self.problems.append(f"{where}: {response.mimetype} not documented")
            return
        schema = media["schema"]
        if schema.get("format") == "binary":  # a download: its bytes have no JSON to check
            return
        if response.mimetype == EVENT_STREAM:  # each event's data is JSON of contentSchema
            schema = schema.get("properties", {}).get("data", {}).get("contentSchema", schema)
        validator = Draft202012Validator({**schema, "components": self.components})
        for body in bodies:
            for error in validator.iter_errors(body):
                at = "/".join(str(part) for part in error.absolute_path) or "(body)"
                self.problems.append(f"{where}: {at}: {error.message}")

    def undocumented_successes(self) -> list[str]:
        """Documented operations never seen answering with a documented 2xx."""
        missing = []
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                ok = {int(s) for s in operation["responses"] if s.startswith("2")}
                if not any((template, method, s) in self.seen for s in ok):
                    missing.append(f"{method.upper()} {template}")
        return missing


class CheckedClient:
    """A test client whose every response is checked by a :class:`ResponseChecker`."""

    def __init__(self, client: FlaskClient, checker: ResponseChecker, headers: dict) -> None:
        self.client = client
        self.checker = checker
        self.headers = headers

    def __call__(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        """Send one request (with this client's headers) and check its response."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, json=json, headers=headers, **kwargs)
        self.checker.check(method, path, response)
        return response
