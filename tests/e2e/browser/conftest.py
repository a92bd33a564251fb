"""Fixtures for browser tests: the app on a real HTTP server, Debian's Chromium via Playwright.

The app runs in this process behind werkzeug's threaded server so that its clock is a
`FixedClock` the test controls; the browser talks to it over 127.0.0.1 like any user.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.tokens import issue_token
from service.services.units import DirectoryEntry, load_directory

# Chromium must not phone home: this machine's network is closed.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Site:
    """The running app: its address, clock, database and a token per person."""

    base: str
    clock: FixedClock
    database: Database
    tokens: dict[str, str]


@pytest.fixture
def site(fresh_database: Database, clock: FixedClock) -> Iterator[Site]:
    config = Config(
        database_url=fresh_database.url, secret_key="browser-tests", log_format="text"
    )
    app = create_app(config, database=fresh_database, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        yield Site(base, clock, fresh_database, people(fresh_database, clock))
    finally:
        server.shutdown()
        thread.join(timeout=10)


def people(database: Database, clock: FixedClock) -> dict[str, str]:
    """The directory's two units and a token for each person in the story."""
    now = clock.now()
    with database.transaction() as session:
        load_directory(
            session,
            [DirectoryEntry("市交通运输局", ("市交通局",)), DirectoryEntry("市财政局")],
            actor=CLI_ACTOR,
            now=now,
        )
    return {
        name: issue_token(
            database, role=role, unit_name=unit, label=label, expires_at=None, now=now
        )
        for name, role, unit, label in [
            ("staff", "staff", "市交通运输局", "交通局 张科长"),
            ("supervisor", "supervisor", None, "督查室 李主任"),
            ("admin", "admin", None, "系统管理员"),
        ]
    }


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def sign_in(page: Page, site: Site, who: str) -> None:
    page.goto(f"{site.base}/signin")
    page.get_by_label("访问令牌").fill(site.tokens[who])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/signin")


def screenshot(page: Page, name: str) -> None:
    """Save the page at desktop and phone widths under build/screenshots (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1366", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=label == "390")
    page.set_viewport_size(DESKTOP)
