"""Abuse of the HTTP API: bad input is a clear 4xx problem that changes nothing, free text is
stored as data and stays inert in exports, and hostile files are refused quickly."""

from __future__ import annotations

import csv
import io
import json
import struct
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import SQLModel
from werkzeug.test import TestResponse

from checklists.reading import file_suffix
from checklists.report_files import FORMULA_STARTS, neutralise
from checklists.unitnames import display_name
from service import models  # noqa: F401 (registers every table on SQLModel.metadata)
from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import MAX_MEASURES, ImportRequest, import_document, safe_filename
from tests.service.conftest import PLAN, Tokens, import_plan

PROBLEM = "application/problem+json"
PUBLIC_HOOK = "https://93.184.215.14/hook"
MB = 1024 * 1024
DEFAULT_LIMIT = Config().max_upload_bytes + MB  # MAX_CONTENT_LENGTH of a default app
# Not a speed target (those are in bench/): the quadratic and zip-bomb cases this guards
# against took minutes, the fixed code takes seconds even on a loaded machine.
HANG_GUARD_SECONDS = 60

INJECTIONS = [
    "'; DROP TABLE item;--",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-1+1",
]
# Unicode a field must keep: bidi overrides, zero-width joiners, emoji sequences,
# stacked combining marks, right-to-left scripts, a BOM.
ODD_UNICODE = [
    "\u202eevil\u202c.txt",
    "a\u200bb\u200dc",
    "👩\u200d💻🚀",
    "e\u0301\u0302\u0303",
    "שלום مرحبا",
    "\ufeffBOM",
]
# What no text column can hold: NUL, and lone or reversed UTF-16 surrogates (JSON allows
# them as escapes).
UNSTORABLE = ["a\x00b", "\ud800", "x\udc00", "\udc00\ud800"]


def table_counts(database: Database) -> dict[str, int]:
    """Rows per table: "nothing changed" is checked against this."""
    with database.reading() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def send_json(
    client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> TestResponse:
    """`body` as JSON with non-ASCII escaped, so lone surrogates travel as `\\ud800`."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.open(
        path, method=method, data=data, content_type="application/json", headers=headers
    )


def assert_problem(response: TestResponse, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, response.get_data(as_text=True)[:500]
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == response.status_code and body["title"]
    return body


@dataclass(frozen=True)
class Plan:
    """Ids in the imported PLAN: an overdue item of unit A, both units, a subscription."""

    document: int
    item: int
    unit_a: int
    unit_b: int
    subscription: int

    def path(self, template: str) -> str:
        return template.format(**vars(self))


@pytest.fixture
def plan(client: FlaskClient, tokens: Tokens, database: Database, clock: FixedClock) -> Plan:
    report = import_plan(database, clock)
    items = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()["items"]
    units = client.get("/api/v1/units", headers=tokens.header("admin")).get_json()
    hook = client.post(
        "/api/v1/subscriptions",
        json={"url": PUBLIC_HOOK, "format": "standard"},
        headers=tokens.header("admin"),
    )
    return Plan(
        document=report.document_id,
        item=next(i["id"] for i in items if "智慧路口" in i["measure"]["title"]),
        unit_a=next(u["id"] for u in units if u["name"] == tokens.unit_a),
        unit_b=next(u["id"] for u in units if u["name"] == tokens.unit_b),
        subscription=hook.get_json()["id"],
    )


def etag(client: FlaskClient, tokens: Tokens, item_id: int) -> str:
    return client.get(f"/api/v1/items/{item_id}", headers=tokens.header("admin")).headers["ETag"]


def act(client: FlaskClient, tokens: Tokens, who: str, item_id: int, body: Any) -> TestResponse:
    headers = {**tokens.header(who), "If-Match": etag(client, tokens, item_id)}
    return send_json(client, "POST", f"/api/v1/items/{item_id}/transitions", body, headers)


# --- malformed and mistyped JSON -----------------------------------------------------


def offline_app() -> Flask:
    """An app that is never connected: its routes and OpenAPI document, at collection time."""
    url = f"sqlite:///{tempfile.gettempdir()}/never-opened.db"
    return create_app(Config(database_url=url, testing=True, secret_key="x", log_format="text"))


def json_endpoints() -> list[tuple[str, str]]:
    """(method, path template) of every operation that takes a JSON body, from the OpenAPI
    document, so that an endpoint added later is covered without editing this file."""
    spec = offline_app().test_client().get("/openapi.json").get_json()
    names = {"document_id": "document", "unit_id": "unit_b", "item_id": "item",
             "subscription_id": "subscription"}
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # shared by the path's operations, not one itself
                continue
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                for param, name in names.items():
                    path = path.replace(f"{{{param}}}", f"{{{name}}}")
                found.append((method.upper(), path))
    return found


JSON_ENDPOINTS = json_endpoints()

MALFORMED = {
    "truncated": b'{"name": "x"',
    "trailing garbage": b'{"name": "x"} x',
    "not an object": b'["x"]',
    "null": b"null",
    "a bare string": b'"x"',
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "UTF-16": '{"name": "x"}'.encode("utf-16"),
    "single quotes": b"{'name': 'x'}",
    "nested 100 000 deep": b"[" * 100_000,
    "objects nested 50 000 deep": b'{"a":' * 50_000,
    "a 5000-digit number": b'{"name": ' + b"9" * 5000 + b"}",
}


def test_every_json_endpoint_is_enumerated() -> None:
    assert len(JSON_ENDPOINTS) >= 12
    assert ("POST", "/api/v1/items/{item}/transitions") in JSON_ENDPOINTS


@pytest.mark.one_backend
@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS, ids=map(" ".join, JSON_ENDPOINTS))
@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_json_is_a_4xx_problem_and_changes_nothing(
    client, tokens, database, plan, method, path, raw
) -> None:
    before = table_counts(database)
    headers = {**tokens.header("admin"), "If-Match": etag(client, tokens, plan.item)}
    assert_problem(send_json(client, method, plan.path(path), raw, headers), 400, 422)
    assert table_counts(database) == before


ITEM = "/api/v1/items/{item}/transitions"
SUBSCRIPTION = "/api/v1/subscriptions/{subscription}"
POLICY = "/api/v1/documents/{document}/reminder-policy"
HOOK = {"url": PUBLIC_HOOK, "format": "standard"}
# (method, path, body, the field named in `errors`)
WRONG_TYPES = [
    ("POST", "/api/v1/units", {"name": 1}, "name"),
    ("POST", "/api/v1/units", {"name": {"zh": "单位"}}, "name"),
    ("POST", "/api/v1/units", {"name": "新单位", "aliases": "别名"}, "aliases"),
    ("POST", "/api/v1/units", {"name": "新单位", "aliases": [1, 2]}, "aliases"),
    ("POST", "/api/v1/units", {"name": "新单位", "is_group": "maybe"}, "is_group"),
    ("POST", "/api/v1/units/{unit_b}/aliases", {"alias": ["财政"]}, "alias"),
    ("POST", "/api/v1/units/{unit_b}/aliases", {"alias": None}, "alias"),
    ("POST", "/api/v1/units/{unit_b}/merge", {"into": "市交通运输局"}, "into"),
    ("POST", ITEM, {"action": ["acknowledge"]}, "action"),
    ("POST", ITEM, {"action": "acknowledge", "note": 5}, "note"),
    ("POST", ITEM, {"action": "report_progress", "evidence": "https://x.cn/"}, "evidence"),
    ("POST", ITEM, {"action": "report_progress", "evidence": [{"url": "https://x.cn/"}]},
     "evidence"),
    ("POST", ITEM, {"action": "report_progress", "values": {"1": "many"}}, "values"),
    ("POST", ITEM, {"action": "report_progress", "values": ["1"]}, "values"),
    ("POST", ITEM, {"action": "report_progress", "percent": "half"}, "percent"),
    ("POST", ITEM, {"action": "reassign", "note": "改派", "unit_id": "B"}, "unit_id"),
    ("POST", "/api/v1/documents", {"text": PLAN, "title": 5}, "title"),
    ("POST", "/api/v1/documents", {"text": PLAN, "filename": ["a.txt"]}, "filename"),
    ("POST", "/api/v1/documents", {"text": [PLAN]}, "text"),
    ("POST", "/api/v1/tokens", {"role": "staff", "unit": 7}, "unit"),
    ("POST", "/api/v1/tokens", {"role": "supervisor", "label": {"a": 1}}, "label"),
    ("POST", "/api/v1/tokens", {"role": ["admin"]}, "role"),
    ("POST", "/api/v1/subscriptions", {**HOOK, "description": 1}, "description"),
    ("POST", "/api/v1/subscriptions", {**HOOK, "event_types": "item.*"}, "event_types"),
    ("POST", "/api/v1/subscriptions", {**HOOK, "url": ["https://x.cn/"]}, "url"),
    ("PATCH", SUBSCRIPTION, {"active": "yes please"}, "active"),
    ("PATCH", SUBSCRIPTION, {"description": ["x"]}, "description"),
    ("POST", SUBSCRIPTION + "/replay", {"since": 5}, "since"),
    ("POST", SUBSCRIPTION + "/rotate-secret", {"grace_hours": "a day"}, "grace_hours"),
    ("PUT", POLICY, {"overdue_every": "3"}, "overdue_every"),
    ("PUT", POLICY, {"progress": {"every": "month", "day": 1.5}}, "progress"),
]


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    WRONG_TYPES,
    ids=[f"{m} {p.rsplit('/', 1)[-1]} {f}" for m, p, _, f in WRONG_TYPES],
)
def test_wrong_types_are_422_naming_the_field_and_change_nothing(
    client, tokens, database, plan, method, path, body, field
) -> None:
    before = table_counts(database)
    headers = {**tokens.header("admin"), "If-Match": etag(client, tokens, plan.item)}
    problem = assert_problem(send_json(client, method, plan.path(path), body, headers), 422)
    assert field in problem["errors"]
    assert table_counts(database) == before


# --- free text: every field, every hostile or odd value --------------------------------


@dataclass(frozen=True)
class FreeText:
    """A free-text field: how a value is sent, and how the stored value is read back.

    `shown` is the field's documented normalisation: unit names are kept in display form
    (NFKC, no spacing or invisible characters), file names as their base name.
    """

    name: str
    max_length: int
    send: Callable[[FlaskClient, Tokens, Plan, str], TestResponse]
    read: Callable[[FlaskClient, Tokens, TestResponse], str]
    shown: Callable[[str], str] = str
    prepare: Callable[[FlaskClient, Tokens, Plan], None] = lambda client, tokens, plan: None


def filled(template: Any, value: str) -> Any:
    """`template` with each `...` in it replaced by `value`."""
    if template is ...:
        return value
    if isinstance(template, dict):
        return {k: filled(v, value) for k, v in template.items()}
    if isinstance(template, list):
        return [filled(v, value) for v in template]
    return template


def admin_json(method: str, path: str, **body: Any) -> Callable[..., TestResponse]:
    def send(client: FlaskClient, tokens: Tokens, plan: Plan, value: str) -> TestResponse:
        return send_json(client, method, plan.path(path), filled(body, value),
                         tokens.header("admin"))

    return send


def acknowledge(client: FlaskClient, tokens: Tokens, item_id: int) -> None:
    assert act(client, tokens, "staff_a", item_id, {"action": "acknowledge"}).status_code == 200


def acknowledged(client: FlaskClient, tokens: Tokens, plan: Plan) -> None:
    """Unit A's item acknowledged: progress can be reported on it."""
    acknowledge(client, tokens, plan.item)


def progress(field: str, wrap: Callable[[str], Any]) -> Callable[..., TestResponse]:
    """Staff of unit A report progress carrying `value`."""

    def send(client: FlaskClient, tokens: Tokens, plan: Plan, value: str) -> TestResponse:
        body = {"action": "report_progress", field: wrap(value)}
        return act(client, tokens, "staff_a", plan.item, body)

    return send


def as_browsers_send(filename: str) -> str:
    """A file name as browsers put it in a multipart header (WHATWG HTML): `"` and line
    breaks percent-encoded, which Werkzeug decodes. Its test client would send them raw."""
    return filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def upload_named(client: FlaskClient, tokens: Tokens, _plan: Plan | None, value: str
                 ) -> TestResponse:
    return client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(PLAN.encode()), as_browsers_send(value)), "title": "上传的方案"},
        headers=tokens.header("admin"),
        content_type="multipart/form-data",
    )


def get_json(client: FlaskClient, tokens: Tokens, path: str) -> Any:
    response = client.get(path, headers=tokens.header("admin"))
    assert response.status_code == 200
    return response.get_json()


def document_field(name: str) -> Callable[..., str]:
    def read(client: FlaskClient, tokens: Tokens, response: TestResponse) -> str:
        document_id = response.get_json()["document_id"]
        return get_json(client, tokens, f"/api/v1/documents/{document_id}")[name]

    return read


def unit_name(client: FlaskClient, tokens: Tokens, response: TestResponse) -> str:
    units = get_json(client, tokens, "/api/v1/units")
    return next(u["name"] for u in units if u["id"] == response.get_json()["id"])


def last_alias(client: FlaskClient, tokens: Tokens, response: TestResponse) -> str:
    return response.get_json()["aliases"][-1]


def last_history(key: str) -> Callable[..., Any]:
    def read(client: FlaskClient, tokens: Tokens, response: TestResponse) -> Any:
        item = get_json(client, tokens, f"/api/v1/items/{response.get_json()['id']}")
        entry = item["history"][-1]
        return entry[key] if key in entry else entry["details"][key][0]

    return read


def subscription_description(client: FlaskClient, tokens: Tokens, response: TestResponse) -> str:
    return get_json(client, tokens, f"/api/v1/subscriptions/{response.get_json()['id']}")[
        "description"
    ]


def newest_token_label(client: FlaskClient, tokens: Tokens, response: TestResponse) -> str:
    return max(get_json(client, tokens, "/api/v1/tokens"), key=lambda t: t["id"])["label"]


EVIDENCE_PREFIX = "https://evidence.example.cn/?q="


def evidence_link(value: str) -> str:
    """`value` in a link: evidence must be an http(s) URL, and URLs hold no spaces."""
    return EVIDENCE_PREFIX + value.replace(" ", "%20")


FREE_TEXT = [
    FreeText("unit name", 200, admin_json("POST", "/api/v1/units", name=...), unit_name,
             display_name),
    FreeText("unit alias", 200, admin_json("POST", "/api/v1/units/{unit_b}/aliases", alias=...),
             last_alias, display_name),
    FreeText("alias of a new unit", 200,
             admin_json("POST", "/api/v1/units", name="某新单位", aliases=[...]), last_alias,
             display_name),
    FreeText("transition note", 10_000, progress("note", str), last_history("note"),
             prepare=acknowledged),
    FreeText("evidence link", 2000 - len(EVIDENCE_PREFIX),
             progress("evidence", lambda v: [evidence_link(v)]), last_history("evidence"),
             evidence_link, acknowledged),
    FreeText("document title", 500, admin_json("POST", "/api/v1/documents", text=PLAN, title=...),
             document_field("title")),
    FreeText("pasted file name", 255,
             admin_json("POST", "/api/v1/documents", text=PLAN, title="粘贴的方案", filename=...),
             document_field("filename"), safe_filename),
    FreeText("uploaded file name", 255, upload_named, document_field("filename"), safe_filename),
    FreeText("subscription description", 200,
             admin_json("POST", "/api/v1/subscriptions", **HOOK, description=...),
             subscription_description),
    FreeText("token label", 200, admin_json("POST", "/api/v1/tokens", role="supervisor", label=...),
             newest_token_label),
]
JSON_FREE_TEXT = [f for f in FREE_TEXT if f.name != "uploaded file name"]


def field_ids(fields: list[FreeText]) -> list[str]:
    return [f.name for f in fields]


@pytest.mark.parametrize("field", FREE_TEXT, ids=field_ids(FREE_TEXT))
@pytest.mark.parametrize("value", INJECTIONS + ODD_UNICODE)
def test_free_text_is_stored_as_data(client, tokens, database, plan, field, value) -> None:
    field.prepare(client, tokens, plan)
    response = field.send(client, tokens, plan, value)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    assert field.read(client, tokens, response) == field.shown(value)
    assert table_counts(database)["item"] >= 7  # the SQL in the text stayed text


@pytest.mark.parametrize("field", JSON_FREE_TEXT, ids=field_ids(JSON_FREE_TEXT))
@pytest.mark.parametrize("value", UNSTORABLE, ids=["NUL", "high", "low", "reversed"])
def test_unstorable_characters_are_422_and_change_nothing(
    client, tokens, database, plan, field, value
) -> None:
    field.prepare(client, tokens, plan)
    before = table_counts(database)
    assert_problem(field.send(client, tokens, plan, value), 422)
    assert table_counts(database) == before


@pytest.mark.parametrize("field", JSON_FREE_TEXT, ids=field_ids(JSON_FREE_TEXT))
def test_the_longest_value_is_kept_and_one_more_is_refused(
    client, tokens, database, plan, field
) -> None:
    field.prepare(client, tokens, plan)
    before = table_counts(database)
    assert_problem(field.send(client, tokens, plan, "长" * (field.max_length + 1)), 422)
    assert table_counts(database) == before
    longest = "长" * field.max_length
    response = field.send(client, tokens, plan, longest)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
    assert field.read(client, tokens, response) == field.shown(longest)


@pytest.mark.parametrize("field", JSON_FREE_TEXT, ids=field_ids(JSON_FREE_TEXT))
def test_a_10_mb_value_is_422_and_changes_nothing(client, tokens, database, plan, field) -> None:
    field.prepare(client, tokens, plan)
    before = table_counts(database)
    assert_problem(field.send(client, tokens, plan, "x" * (10 * MB)), 422)
    assert table_counts(database) == before


def test_a_zero_width_character_does_not_make_a_second_unit(client, tokens, plan) -> None:
    created = send_json(client, "POST", "/api/v1/units", {"name": "市财政局\u200b"},
                        tokens.header("admin"))
    assert created.get_json()["id"] == plan.unit_b
    imported = send_json(
        client, "POST", "/api/v1/documents",
        {"text": PLAN.replace("市财政局", "\u202a市财政局\u2060"), "title": "另一方案"},
        tokens.header("admin"),
    )
    assert imported.status_code == 201
    assert "市财政局" not in "".join(imported.get_json()["new_units"])


@pytest.mark.parametrize("query", [*INJECTIONS, "%", "_", "\\", "%' OR '1'='1"])
def test_search_text_is_matched_literally(client, tokens, database, plan, query) -> None:
    response = client.get("/api/v1/items", query_string={"q": query},
                          headers=tokens.header("admin"))
    assert response.status_code == 200
    assert response.get_json()["items"] == []
    assert table_counts(database)["item"] == 7


# --- exports: formulas stay text ----------------------------------------------------


def overdue_file(client: FlaskClient, tokens: Tokens, file_format: str) -> bytes:
    response = client.get(
        f"/api/v1/reports/overdue?as_of=2026-11-22&format={file_format}",
        headers=tokens.header("supervisor"),
    )
    assert response.status_code == 200
    return response.get_data()


@pytest.mark.parametrize("payload", INJECTIONS)
def test_exports_neutralise_formulas_in_every_text_column(
    client, tokens, database, clock, payload
) -> None:
    """The payload as a document title, a measure, a unit name and a progress note."""
    text = PLAN + f"（三）{payload}到2025年底前完成。（责任单位：市财政局）\n"
    import_document(
        database,
        ImportRequest(text.encode(), "plan.txt", title=payload),
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 20),
        max_bytes=1_000_000,
    )
    items = client.get("/api/v1/items?overdue=true", headers=tokens.header("admin"))
    overdue = {i["unit"]["name"]: i["id"] for i in items.get_json()["items"]}
    unit = send_json(client, "POST", "/api/v1/units", {"name": payload}, tokens.header("admin"))
    reassign = {"action": "reassign", "note": payload, "unit_id": unit.get_json()["id"]}
    assert act(client, tokens, "supervisor", overdue["市公安局"], reassign).status_code == 200
    acknowledge(client, tokens, overdue[tokens.unit_a])
    assert act(client, tokens, "staff_a", overdue[tokens.unit_a],
               {"action": "report_progress", "note": payload}).status_code == 200

    rows = list(csv.reader(io.StringIO(overdue_file(client, tokens, "csv").decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert cells.count(neutralise(payload)) >= 2  # the title on every row, the note once
    assert neutralise(display_name(payload)) in cells

    book = load_workbook(io.BytesIO(overdue_file(client, tokens, "xlsx")))
    written = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c for c in written if c.data_type == "f"]
    risky = [c for c in written if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS)]
    assert all(c.data_type == "s" and c.quotePrefix for c in risky)
    assert payload in {c.value for c in written}


# --- oversized bodies ------------------------------------------------------------------


def oversized(kind: str, field: str) -> dict[str, Any]:
    """A request body just over a default app's MAX_CONTENT_LENGTH."""
    filler = b"x" * DEFAULT_LIMIT
    if kind == "json":
        return {"data": b'{"%s": "%s"}' % (field.encode(), filler),
                "content_type": "application/json"}
    return {"data": {field: (io.BytesIO(filler), "a.txt")}, "content_type": "multipart/form-data"}


@pytest.mark.parametrize(
    ("path", "kind", "field"),
    [
        ("/api/v1/units", "json", "name"),
        ("/api/v1/subscriptions", "json", "description"),
        ("/api/v1/documents", "json", "text"),
        ("/api/v1/documents", "multipart", "file"),
        ("/api/v1/documents/preview", "multipart", "file"),
    ],
)
def test_a_body_over_max_content_length_is_413(
    client, tokens, database, path, kind, field
) -> None:
    before = table_counts(database)
    response = client.post(path, headers=tokens.header("admin"), **oversized(kind, field))
    assert_problem(response, 413)
    assert table_counts(database) == before


Upload = Callable[[], tuple[str, bytes]]  # builds (file name, content)
HOSTILE_UPLOADS: dict[str, Upload] = {}


def hostile(name: str) -> Callable[[Upload], Upload]:
    def register(build: Upload) -> Upload:
        HOSTILE_UPLOADS[name] = build
        return build

    return register


@hostile("10 MB of binary named .txt")
def binary_text() -> tuple[str, bytes]:
    return "a.txt", bytes(range(256)) * (10 * MB // 256)


@hostile("10 MB that is no Word file")
def fake_docx() -> tuple[str, bytes]:
    return "a.docx", b"x" * (10 * MB)


@hostile("10 MB that is no PDF")
def fake_pdf() -> tuple[str, bytes]:
    return "a.pdf", b"%PDF-1.7\n" + b"\x00" * (10 * MB)


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes, built from one repeated 1 MB block."""
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = block.compress(bytes(MB)) + block.flush(zlib.Z_FULL_FLUSH)
    return chunk * (size // MB) + b"\x03\x00"  # an empty final block ends the stream


def zip_archive(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate data, declared size, CRC) members, headers as given."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, data, size, crc in members:
        encoded, offset = name.encode(), out.tell()
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + encoded + data)
        directory.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0,
                                    offset) + encoded)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      directory.tell(), out.tell(), 0)
    return out.getvalue() + directory.getvalue() + end


def word_package(document_xml: tuple[bytes, int, int]) -> bytes:
    """A real .docx from python-docx whose word/document.xml is replaced."""
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    import zipfile

    members = []
    with zipfile.ZipFile(buffer) as package:
        for info in package.infolist():
            data = package.read(info)
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            raw = deflate.compress(data) + deflate.flush()
            members.append((info.filename, raw, len(data), zlib.crc32(data)))
    return zip_archive([
        (name, *document_xml) if name == "word/document.xml" else (name, raw, size, crc)
        for name, raw, size, crc in members
    ])


@hostile("docx whose document.xml inflates to 2 GB")
def zip_bomb() -> tuple[str, bytes]:
    return "bomb.docx", word_package((deflated_zeros(2048 * MB), 2048 * MB, 0))


@hostile("docx declaring 10 KB that inflates to 1 GB")
def lying_zip_bomb() -> tuple[str, bytes]:
    return "liar.docx", word_package((deflated_zeros(1024 * MB), 10_000, 0))


@hostile("docx of 5000 members")
def crowded_docx() -> tuple[str, bytes]:
    empty = zlib.compressobj(6, zlib.DEFLATED, -15).flush()
    members = [(f"word/media/{n}.png", empty, 0, 0) for n in range(5000)]
    return "crowded.docx", zip_archive(members)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of the given objects (object 1 the catalog), with a correct xref table."""
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def page_tree(pages: int, count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
                     *[page] * pages])


@hostile("PDF claiming 10 million pages")
def pdf_claiming_pages() -> tuple[str, bytes]:
    return "big.pdf", page_tree(1, 10_000_000)


@hostile("PDF of 20 000 pages claiming one")
def pdf_hiding_pages() -> tuple[str, bytes]:
    return "hidden.pdf", page_tree(20_000, 1)


@hostile("PDF whose page tree is a cycle")
def pdf_cycle() -> tuple[str, bytes]:
    return "cycle.pdf", pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>",
                                  b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


@hostile("PDF whose page tree is 50 000 deep")
def pdf_deep() -> tuple[str, bytes]:
    nodes = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (n + 3) for n in range(50_000)]
    leaf = b"<< /Type /Page /MediaBox [0 0 10 10] >>"
    return "deep.pdf", pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", *nodes, leaf])


def post_file(client: FlaskClient, tokens: Tokens, path: str, name: str, data: bytes
              ) -> TestResponse:
    return client.post(path, data={"file": (io.BytesIO(data), name)},
                       headers=tokens.header("admin"), content_type="multipart/form-data")


@pytest.mark.one_backend
@pytest.mark.parametrize("build", HOSTILE_UPLOADS.values(), ids=HOSTILE_UPLOADS.keys())
@pytest.mark.parametrize("path", ["/api/v1/documents", "/api/v1/documents/preview"])
def test_hostile_files_are_refused_quickly(client, tokens, database, path, build) -> None:
    name, data = build()
    before = table_counts(database)
    started = time.perf_counter()
    response = post_file(client, tokens, path, name, data)
    elapsed = time.perf_counter() - started
    assert "file" in assert_problem(response, 422)["errors"]
    assert table_counts(database) == before
    assert elapsed < HANG_GUARD_SECONDS


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


@pytest.mark.one_backend
@pytest.mark.parametrize("build", HOSTILE_UPLOADS.values(), ids=HOSTILE_UPLOADS.keys())
def test_hostile_files_are_read_in_bounded_memory(client, tokens, traced, build) -> None:
    name, data = build()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    assert post_file(client, tokens, "/api/v1/documents/preview", name, data).status_code == 422
    peak = tracemalloc.get_traced_memory()[1] - baseline
    assert peak < 3 * len(data) + 100 * MB  # the upload's own copies, and little more


def test_a_document_of_too_many_measures_is_refused_before_storing(client, tokens, database):
    text = "某市实施方案\n" + "".join(
        f"（{n}）做好第{n}项工作。（责任单位：市交通运输局）\n" for n in range(MAX_MEASURES + 5)
    )
    before = table_counts(database)
    problem = assert_problem(send_json(client, "POST", "/api/v1/documents", {"text": text},
                                       tokens.header("admin")), 422)
    assert "file" in problem["errors"]
    assert table_counts(database) == before


# Single-paragraph texts that once took minutes each: a scan from every position of a
# long run of digits, spaces or adjacent annotations.
PATHOLOGICAL = {
    "a run of digits": "1" * 200_000,
    "digits around spaces": "1" + " " * 200_000 + "1",
    "numbers without clauses": "1元" * 100_000,
    "dates without a year": "年底前" * 60_000,
    "adjacent annotations": "（责任单位：市财政局）" * 20_000,
    "unmatched brackets": "[）" * 100_000,
    "a target per number of one long clause": "建成" + "1个" * 100_000,
    "a paragraph of 5000 wrapped lines": "".join(
        f"{n}. 推进工作不少于{n}个。牵头单位：市发展改革委；配合单位：市财政局\n"
        for n in range(5000)
    ),
}


@pytest.mark.one_backend
@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_text_is_read_in_linear_time(client, tokens, text) -> None:
    started = time.perf_counter()
    response = send_json(client, "POST", "/api/v1/documents/preview", {"text": text},
                         tokens.header("admin"))
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    assert time.perf_counter() - started < HANG_GUARD_SECONDS


# --- file names -------------------------------------------------------------------------

# Names that try to leave the upload's directory, hide a suffix, or break the header.
PATH_TRICKS = [
    "../../etc/passwd.txt",
    "/etc/passwd.txt",
    "..\\..\\windows\\win.ini.txt",
    "C:\\Windows\\System32\\drivers\\etc\\hosts.txt",
    "plan\x00.txt",
    "plan.txt\x00.exe",
    "..",
    "./.",
    "a/" * 300 + "plan.txt",
    "长" * 1000 + ".txt",
    "\u202etxt.exe",
    "\r\nContent-Type: text/html\r\n.txt",
]


def readable_name(name: str, how: str) -> bool:
    """Whether the import goes ahead: the name's suffix is a text file's (a NUL hides
    nothing), and in JSON, which refuses them, it has no NUL and at most 255 characters."""
    refused_in_json = "\x00" in name or len(name) > 255
    return file_suffix(name) in ("", ".txt") and not (how == "json" and refused_in_json)


@pytest.mark.parametrize("how", ["json", "multipart"])
@pytest.mark.parametrize("name", PATH_TRICKS, ids=[repr(n[:24]) for n in PATH_TRICKS])
def test_file_names_are_stored_safe_and_nothing_is_written(
    client, tokens, database, tmp_path: Path, monkeypatch, how, name
) -> None:
    monkeypatch.chdir(tmp_path)
    before = table_counts(database)
    if how == "json":
        body = {"text": PLAN, "filename": name}
        response = send_json(client, "POST", "/api/v1/documents", body, tokens.header("admin"))
    else:
        response = upload_named(client, tokens, None, name)
    if not readable_name(name, how):
        assert "file" in assert_problem(response, 422)["errors"] or how == "json"
        assert table_counts(database) == before
    else:
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        stored = document_field("filename")(client, tokens, response)
        assert len(stored) <= 255 and (stored == "" or stored.strip("."))
        assert not set(stored) & {"/", "\\", "\x00", "\r", "\n"}
        if how == "json":  # multipart headers are unescaped on the way; JSON is exact
            assert stored == safe_filename(name)
    assert list(tmp_path.iterdir()) == []
