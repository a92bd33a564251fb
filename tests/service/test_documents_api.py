"""POST/GET /api/v1/documents: uploads as multipart or JSON, previews, access rules."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from tests.service.conftest import PLAN, Tokens


def upload(client: FlaskClient, tokens: Tokens, who: str = "supervisor", **fields):
    data = {"file": (io.BytesIO(PLAN.encode("gb18030")), "方案.txt"), **fields}
    return client.post("/api/v1/documents", data=data, headers=tokens.header(who),
                       content_type="multipart/form-data")


def test_multipart_upload_imports_the_document(client: FlaskClient, tokens: Tokens) -> None:
    response = upload(client, tokens)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["outcome"], body["measures"], body["items"]) == ("created", 4, 7)
    again = upload(client, tokens)
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "unchanged"


def test_json_text_import_with_options(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post(
        "/api/v1/documents",
        json={"text": PLAN, "title": "测试方案", "default_deadline": "2026-06-30"},
        headers=tokens.header("admin"),
    )
    assert response.status_code == 201
    assert response.get_json()["title"] == "测试方案"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": PLAN, "default_deadline": "2026-02-30"}, "default_deadline"),
        ({"text": PLAN, "surprise": 1}, "surprise"),
        ({"text": 42}, "text"),
    ],
)
def test_bad_json_fields_are_422_problems(client, tokens, body, field) -> None:
    response = client.post("/api/v1/documents", json=body, headers=tokens.header("admin"))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_bad_files_are_422_problems_and_store_nothing(client, tokens) -> None:
    for data in (b"", b"\x00\xff" * 100, b"PK\x03\x04broken zip"):
        response = client.post(
            "/api/v1/documents",
            data={"file": (io.BytesIO(data), "x.docx")},
            headers=tokens.header("admin"),
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, data
        assert "file" in response.get_json()["errors"]
    listed = client.get("/api/v1/documents", headers=tokens.header("admin")).get_json()
    assert listed == []


def test_malformed_json_is_a_problem_not_a_crash(client, tokens) -> None:
    response = client.post("/api/v1/documents", data="{not json", headers={
        **tokens.header("admin"), "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(("who", "status"), [("staff_a", 403), (None, 401)])
def test_only_supervisors_and_admins_import(client, tokens, who, status) -> None:
    headers = tokens.header(who) if who else {}
    response = client.post("/api/v1/documents", json={"text": PLAN}, headers=headers)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"


def test_invalid_token_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/documents", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_preview_extracts_without_storing(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post("/api/v1/documents/preview", json={"text": PLAN},
                           headers=tokens.header("supervisor"))
    assert response.status_code == 200
    assert len(response.get_json()["measures"]) == 4
    assert client.get("/api/v1/documents", headers=tokens.header("admin")).get_json() == []


def test_document_detail_shows_staff_only_their_units_items(client, tokens) -> None:
    document_id = upload(client, tokens).get_json()["document_id"]
    full = client.get(f"/api/v1/documents/{document_id}", headers=tokens.header("supervisor"))
    staff = client.get(f"/api/v1/documents/{document_id}", headers=tokens.header("staff_a"))
    all_units = [u["name"] for m in full.get_json()["measure_details"] for u in m["units"]]
    own_units = [u["name"] for m in staff.get_json()["measure_details"] for u in m["units"]]
    assert len(all_units) == 7
    assert own_units == ["市交通运输局"]


def test_missing_document_is_404_problem(client, tokens) -> None:
    response = client.get("/api/v1/documents/999", headers=tokens.header("admin"))
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def docx_bytes(text: str) -> bytes:
    from docx import Document

    document = Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes(text: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("STSong-Light", 9)
    y = 800
    for line in text.splitlines():
        pdf.drawString(30, y, line)
        y -= 14
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "make"), [("方案.docx", docx_bytes), ("方案.pdf", pdf_bytes)])
def test_word_and_pdf_uploads_import_the_same_measures(client, tokens, name, make) -> None:
    response = client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(make(PLAN)), name)},
        headers=tokens.header("supervisor"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["measures"], response.get_json()["items"]) == (4, 7)


def test_path_tricks_in_file_names_are_harmless(client, tokens) -> None:
    response = client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(PLAN.encode()), "../../etc/passwd.txt")},
        headers=tokens.header("supervisor"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    document_id = response.get_json()["document_id"]
    detail = client.get(f"/api/v1/documents/{document_id}", headers=tokens.header("admin"))
    assert detail.get_json()["filename"] == "passwd.txt"
