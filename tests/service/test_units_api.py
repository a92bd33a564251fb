"""The unit directory over HTTP: aliases, merge (items move, history kept), confirmation."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.service.conftest import PLAN, Tokens


def units(client: FlaskClient, tokens: Tokens, query: str = "") -> dict[str, dict]:
    rows = client.get(f"/api/v1/units{query}", headers=tokens.header("supervisor")).get_json()
    return {row["name"]: row for row in rows}


def test_import_creates_unconfirmed_units_that_can_be_confirmed(client, tokens) -> None:
    client.post("/api/v1/documents", json={"text": PLAN}, headers=tokens.header("admin"))
    pending = units(client, tokens, "?unconfirmed=true")
    assert "市公安局" in pending and "市交通运输局" not in pending
    unit_id = pending["市公安局"]["id"]
    response = client.post(f"/api/v1/units/{unit_id}/confirm", headers=tokens.header("admin"))
    assert response.get_json()["confirmed"] is True
    assert "市公安局" not in units(client, tokens, "?unconfirmed=true")


def test_merge_moves_items_and_keeps_the_name_as_alias(client, tokens) -> None:
    client.post("/api/v1/documents", json={"text": PLAN}, headers=tokens.header("admin"))
    before = units(client, tokens)
    source, target = before["市工信局"], before["市财政局"]
    response = client.post(f"/api/v1/units/{source['id']}/merge", json={"into": target["id"]},
                           headers=tokens.header("supervisor"))
    assert response.status_code == 200, response.get_json()
    after = units(client, tokens)
    assert "市工信局" not in after
    assert "市工信局" in after["市财政局"]["aliases"]
    assert after["市财政局"]["open_items"] == target["open_items"] + source["open_items"]


def test_alias_conflict_is_409(client, tokens) -> None:
    rows = units(client, tokens)
    response = client.post(f"/api/v1/units/{rows['市财政局']['id']}/aliases",
                           json={"alias": "市交通局"}, headers=tokens.header("admin"))
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"


def test_create_unit_with_aliases(client, tokens) -> None:
    response = client.post("/api/v1/units", json={"name": "省发展改革委",
                           "aliases": ["省发展和改革委员会"]}, headers=tokens.header("admin"))
    assert response.status_code == 201
    assert response.get_json()["aliases"] == ["省发展和改革委员会"]


def test_staff_cannot_change_the_directory(client, tokens) -> None:
    response = client.post("/api/v1/units", json={"name": "x"}, headers=tokens.header("staff_a"))
    assert response.status_code == 403


def test_unknown_fields_are_422(client, tokens) -> None:
    response = client.post("/api/v1/units", json={"name": "x", "colour": "red"},
                           headers=tokens.header("admin"))
    assert response.status_code == 422
    assert "colour" in response.get_json()["errors"]
