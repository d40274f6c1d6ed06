"""Property-based fuzzing of the whole JSON API with schemathesis.

Every operation of ``/api/v1/openapi.json`` is called through the WSGI app with generated
data (valid and invalid, NUL characters included), authenticated by alice's API token, with
every schemathesis check, rate limits off and a fixed seed; on SQLite and PostgreSQL. The
token revocation route is fuzzed with bob's token, so alice's survives the run. A stateful
run follows the links between creating and reading/deleting operations.

More examples locally: ``FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/test_fuzz.py``.

Operations are driven through hypothesis directly (``operation.as_strategy()``) rather than
schemathesis' pytest loader, whose ``from_fixture`` sets a node attribute pytest 9 removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from chatapp.services import accounts
from tests.support.app import POSTGRES_URL, build_app, close_app, stamp_schema

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")
from schemathesis.config import OperationConfig, OperationsConfig  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = 20261127
REVOKE = ("DELETE", "/api/v1/auth/tokens/{token_id}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """One app for the module: rate limits off, the offline model answering at once, the
    schema stamped as migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    elif not POSTGRES_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests against it")
    else:
        url = POSTGRES_URL
    app = build_app(url, RATELIMIT_ENABLED=False, OFFLINE_MODEL_DELAY=0)
    stamp_schema(app)  # a migrated deployment: readiness answers 200, not 503
    yield app
    close_app(app)


def _token(app: Any, username: str) -> str:
    """A new API token of ``username``."""
    with app.app_context():
        user = accounts.find_user(username)
        return accounts.create_token(user, "fuzz")[1]


def _schema(app: Any, username: str) -> Any:
    """The app's OpenAPI document, every request authenticated as ``username``."""
    return _schema_with(app, {"Authorization": f"Bearer {_token(app, username)}"})


# An upload's file must be of a supported type (sniffed from its bytes), which JSON Schema
# cannot say: a valid-looking file of another type is a documented 415, not a failure.
UPLOAD_CHECKS = {
    "include-name": "POST /api/v1/collections/{collection_id}/documents",
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": [
                *("2xx", "3xx", "401", "403", "404", "409", "415", "422", "429", "5xx")
            ]
        }
    },
}
# A valid-looking PDF may hold no text to index (422 EMPTY_DOCUMENT), which a schema cannot
# say either; hence the 422 above.
# A schema cannot say "bytes Pillow decodes" or "a PDF pypdf opens": a schema-valid file
# upload may still be refused for what it holds (empty 400, not a supported type 415,
# damaged PDF 422), which the files tests check case by case.
FILE_UPLOAD = {
    "include-path": "/api/v1/files",
    "include-method": "POST",
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "415", "422", "429"]
        }
    },
}


# A turn's attachments are ids of uploaded files: how many a message may carry is the
# configured FILES_PER_MESSAGE (413 past it, documented), which the schema's fixed maximum
# cannot say.
TURN_FILES = [
    {
        "include-name": name,
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    *("2xx", "400", "401", "403", "404", "409", "413", "415", "422", "429")
                ]
            }
        },
    }
    for name in (
        "POST /api/v1/chat/message",
        "POST /api/v1/chat/message/stream",
        "POST /api/v1/chat",
    )
]


def _schema_with(app: Any, headers: dict[str, str]) -> Any:
    """The app's OpenAPI document, every request sending ``headers``."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.update(headers=headers)
    schema.config.generation.update(max_examples=EXAMPLES, allow_x00=True)
    # The first config that matches an operation wins; FILE_UPLOAD's path and method
    # filters each match on their own, so it is also the fallback of every other POST.
    configs = [*TURN_FILES, UPLOAD_CHECKS, FILE_UPLOAD]
    operations = [OperationConfig.from_dict(config) for config in configs]
    schema.config.operations = OperationsConfig(operations=operations)
    return schema


def _fuzz(schema: Any) -> tuple[dict[str, str], int]:
    """Run every operation of ``schema`` with generated cases; return the failures by
    operation, and how many operations ran."""
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.seed(SEED)
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=False,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        def call(case: Any) -> None:
            case.call_and_validate()

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # every failure is reported below
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    return failures, operations


def test_every_operation(fuzz_app: Any) -> None:
    """No 500, responses as documented, invalid data refused, valid data accepted; alice's
    token survives (revocation is fuzzed with bob's)."""
    alice = {"Authorization": f"Bearer {_token(fuzz_app, 'alice')}"}
    schema = _schema_with(fuzz_app, alice).exclude(method=REVOKE[0], path=REVOKE[1])
    failures, called = _fuzz(schema)
    more, revoked = _fuzz(_schema(fuzz_app, "bob").include(method=REVOKE[0], path=REVOKE[1]))
    failures.update(more)
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    spec = fuzz_app.test_client().get("/api/v1/openapi.json").json
    assert called + revoked == sum(len(item) for item in spec["paths"].values())
    assert fuzz_app.test_client().get("/api/v1/me", headers=alice).status_code == 200


def test_stateful_workflows(fuzz_app: Any) -> None:
    """Sequences of calls following the links between operations (create, then read, rename
    or delete what was created) keep every check."""
    schema = _schema(fuzz_app, "alice").exclude(method=REVOKE[0], path=REVOKE[1])
    workflow = schema.as_state_machine()
    workflow.run(
        settings=hypothesis.settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
