"""Property-based run of the API against its own OpenAPI document: no 5xx, no schema lies."""

from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.service.conftest import PLAN, Tokens

# What the API promises for any input: never a 5xx, and every answer as documented.
# (Schema-valid uploads may still be refused: a PNG is a valid file but not a document.)
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


def test_api_conforms_to_its_schema(app: Flask, tokens: Tokens) -> None:
    client = app.test_client()
    client.post("/api/v1/documents", json={"text": PLAN}, headers=tokens.header("admin"))
    # The event stream never ends by itself; tests/service/test_stream.py checks its schema.
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app).exclude(
        path="/api/v1/events/stream"
    )
    headers = tokens.header("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13

    for operation in operations:

        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
