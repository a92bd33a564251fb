"""Reminders over HTTP (preview, per-document policy) and at the command line (`remind`)."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlmodel import col, select

from service.cli import main
from service.config import Config
from service.db import Database
from service.models import AuditRecord, Item
from service.services.reminders import sweep
from tests.service.conftest import Tokens
from tests.service.test_reminders import Office, at, open_office

D = date


@pytest.fixture
def office(database: Database, tokens: Tokens) -> Office:
    return open_office(database)


def test_preview_lists_what_would_be_sent(
    client: FlaskClient, tokens: Tokens, office: Office
) -> None:
    first = office.add(D(2025, 10, 1))
    office.add(D(2025, 10, 10), unit="市财政局")
    response = client.get(
        "/api/v1/reminders/preview?as_of=2025-09-18", headers=tokens.header("supervisor")
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["as_of"].startswith("2025-09-18T01:00:00")  # 09:00 in Beijing
    assert body["reminders"] == [
        {
            "item_id": first,
            "title": "措施1",
            "unit_id": office.units["市交通运输局"],
            "unit_name": "市交通运输局",
            "document_id": office.document_id,
            "document_title": "某市重点任务督办方案",
            "measure_ref": "（1）",
            "kind": "due_soon",
            "step": "10",
            "deadline": "2025-10-01",
            "due_at": "2025-09-18T01:00:00+00:00",
            "message": "距办理时限（2025年10月1日）还有10个工作日，请抓紧办理",
        }
    ]
    later = client.get(
        "/api/v1/reminders/preview?as_of=2025-10-09T10:30%2B08:00",
        headers=tokens.header("admin"),
    ).get_json()
    assert [(r["unit_name"], r["kind"], r["step"]) for r in later["reminders"]] == [
        ("市交通运输局", "overdue", "1"),
        ("市财政局", "due_soon", "1"),
    ]
    assert later["superseded"] == 5


@pytest.mark.parametrize(
    ("who", "query", "status"),
    [
        ("staff_a", "", 403),
        ("supervisor", "?as_of=tomorrow", 422),
        ("supervisor", "?as_of=2025-02-30", 422),
        ("supervisor", "?as_of=2031-01-05", 422),
    ],
)
def test_preview_refuses_bad_input(
    client: FlaskClient, tokens: Tokens, who: str, query: str, status: int
) -> None:
    response = client.get(f"/api/v1/reminders/preview{query}", headers=tokens.header(who))
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    if status == 422:
        assert set(response.get_json()["errors"]) == {"as_of"}


def test_preview_without_as_of_is_now(client: FlaskClient, tokens: Tokens, office: Office) -> None:
    response = client.get("/api/v1/reminders/preview", headers=tokens.header("supervisor"))
    assert response.status_code == 200
    assert response.get_json()["as_of"].startswith("2026-11-20T01:30")


def policy_url(office: Office) -> str:
    return f"/api/v1/documents/{office.document_id}/reminder-policy"


def test_a_document_policy_round_trip(
    client: FlaskClient, tokens: Tokens, office: Office, database: Database
) -> None:
    item = office.add(D(2026, 12, 31), assigned_on=D(2026, 11, 2))
    shown = client.get(policy_url(office), headers=tokens.header("supervisor")).get_json()
    assert shown["overrides"] is None
    assert shown["effective"] == {
        "due_soon_offsets": [10, 3, 1],
        "overdue_every": 3,
        "escalate_after": 5,
        "progress": None,
    }
    policy = {"due_soon_offsets": [2, 20], "progress": {"every": "month", "day": 25}}
    response = client.put(policy_url(office), json=policy, headers=tokens.header("supervisor"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    progress = {"every": "month", "day": 25, "remind_before": 3}
    assert body["overrides"] == {"due_soon_offsets": [20, 2], "progress": progress}
    assert body["effective"]["due_soon_offsets"] == [20, 2]
    assert body["effective"]["overdue_every"] == 3
    assert client.get(policy_url(office), headers=tokens.header("admin")).get_json() == body
    with database.reading() as session:
        # Rescheduled at once: the 25 November progress request, 3 working days before.
        assert session.get(Item, item).next_reminder_at == at(D(2026, 11, 20))
        audit = session.exec(
            select(AuditRecord).where(AuditRecord.action == "reminder_policy")
        ).one()
        assert (audit.entity, audit.entity_id, audit.actor) == (
            "document",
            office.document_id,
            "supervisor",
        )
        assert audit.details["to"]["progress"] == progress


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"progress": {"every": "month", "day": 31}}, "progress"),
        ({"progress": {"every": "week", "day": 1}}, "progress"),
        ({"overdue_every": 0}, "overdue_every"),
        ({"overdue_every": "3"}, "overdue_every"),
        ({"due_soon_offsets": [0, 3]}, "due_soon_offsets"),
        ({"remind_at": "08:00"}, "remind_at"),
    ],
)
def test_a_bad_policy_is_422_and_changes_nothing(
    client: FlaskClient, tokens: Tokens, office: Office, body: dict, field: str
) -> None:
    response = client.put(policy_url(office), json=body, headers=tokens.header("supervisor"))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]
    shown = client.get(policy_url(office), headers=tokens.header("supervisor")).get_json()
    assert shown["overrides"] is None


def test_policy_access_and_missing_documents(
    client: FlaskClient, tokens: Tokens, office: Office
) -> None:
    assert client.get(policy_url(office)).status_code == 401
    assert client.get(policy_url(office), headers=tokens.header("staff_a")).status_code == 403
    assert (
        client.put(policy_url(office), json={}, headers=tokens.header("staff_b")).status_code == 403
    )
    missing = "/api/v1/documents/999999/reminder-policy"
    assert client.get(missing, headers=tokens.header("admin")).status_code == 404
    assert client.put(missing, json={}, headers=tokens.header("admin")).status_code == 404


def test_clearing_the_policy_restores_the_defaults(
    client: FlaskClient, tokens: Tokens, office: Office
) -> None:
    client.put(policy_url(office), json={"overdue_every": 1}, headers=tokens.header("admin"))
    body = client.put(policy_url(office), json={}, headers=tokens.header("admin")).get_json()
    assert body["overrides"] is None and body["effective"]["overdue_every"] == 3


@pytest.fixture
def cli_env(fresh_database: Database) -> dict[str, str]:
    return {"DATABASE_URL": fresh_database.url, "LOG_LEVEL": "WARNING"}


def test_remind_sends_once_and_prints_a_table(
    fresh_database: Database, cli_env: dict[str, str]
) -> None:
    office = open_office(fresh_database)
    office.add(D(2025, 10, 1))
    runner = CliRunner()
    first = runner.invoke(main, ["remind", "--as-of", "2025-09-18"], env=cli_env)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["事项", "单位", "提醒", "步骤"]
    assert lines[1].split("\t")[1:5] == ["市交通运输局", "事项即将到期", "10", "2025-09-18 09:00"]
    assert lines[-1].startswith("1 reminder(s) sent, 0 superseded")
    again = runner.invoke(main, ["remind", "--as-of", "2025-09-18T09:00"], env=cli_env)
    assert again.exit_code == 0 and again.stdout.splitlines() == [
        "0 reminder(s) sent, 0 superseded, 0 item(s) read"
    ]


@pytest.mark.parametrize("as_of", ["2025-13-01", "yesterday", "2025-09-18T25:00", "2031-01-05"])
def test_remind_refuses_bad_moments_in_one_line(cli_env: dict[str, str], as_of: str) -> None:
    result = CliRunner().invoke(main, ["remind", "--as-of", as_of], env=cli_env)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Error:" in result.stderr


def test_remind_reschedule_picks_up_items_older_than_reminders(
    fresh_database: Database, cli_env: dict[str, str], config: Config
) -> None:
    office = open_office(fresh_database)
    item = office.add(D(2025, 10, 1))
    with fresh_database.transaction() as session:
        session.get(Item, item).next_reminder_at = None
    assert sweep(fresh_database, config, at(D(2025, 9, 18))).sent == []
    result = CliRunner().invoke(
        main, ["remind", "--reschedule", "--as-of", "2025-09-18"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "1 open items rescheduled"
    assert "1 reminder(s) sent" in result.stdout
    with fresh_database.reading() as session:
        rows = session.exec(select(Item.next_reminder_at).where(col(Item.id) == item)).all()
        assert rows == [at(D(2025, 9, 28))]
