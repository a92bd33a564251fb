"""`checklist serve`: the embedded deployment, one process with a real WSGI server."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from waitress import create_server

from service import schema
from service.app import create_app
from service.config import Config
from service.db import Database

log = logging.getLogger(__name__)


def run_embedded(config: Config, database: Database, *, host: str, port: int, threads: int) -> None:
    """Upgrade the schema, then serve until SIGTERM or Ctrl-C, finishing requests in flight."""
    schema.upgrade(database)
    app = create_app(config, database=database)
    server = create_server(app, host=host, port=port, threads=threads, ident="checklist")
    signal.signal(signal.SIGTERM, stop_on_signal)
    log.info("serving", extra={"url": f"http://{host}:{server.effective_port}"})
    try:
        server.run()  # returns after SystemExit/KeyboardInterrupt, having shut its threads
    finally:
        database.dispose()
        log.info("stopped")


def stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
