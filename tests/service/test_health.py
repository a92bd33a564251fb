from flask.testing import FlaskClient

from service import schema
from service.app import create_app
from service.config import Config
from service.db import Database


def test_healthz_reports_database_at_head(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["revision"] == schema.head_revision()


def test_healthz_is_503_problem_when_schema_is_behind(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(Config(database_url=url, testing=True), database=Database(url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.get_json()["database"]["revision"] is None


def test_healthz_is_503_problem_when_database_unreachable() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app = create_app(Config(database_url=url, testing=True), database=Database(url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"]["reachable"] is False
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_path_is_problem_json(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_request_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
