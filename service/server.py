"""`checklist serve`: the embedded deployment, one process running everything.

The web app runs on gevent's WSGI server (the process was monkey-patched at launch,
see service/launch.py), the delivery worker and the clock beside it. The clock
stands by if another clock already holds this database's lease.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading

import gevent
from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

from service import schema
from service.app import create_app
from service.clock import SystemClock
from service.config import Config
from service.db import Database
from service.scheduler import ClockProcess
from service.stream import stop_broadcaster
from service.worker import DeliveryWorker

log = logging.getLogger(__name__)

# Requests in flight get this long to finish after SIGTERM; event streams are cut.
GRACE_S = 3.0


class NoDelayHandler(WSGIHandler):
    """Sends each answer at once.

    pywsgi writes headers and body separately; with Nagle's algorithm on, a keep-alive
    client's next request waited about 40 ms for the delayed ACK of the first write.
    """

    def handle(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle()


def run_embedded(
    config: Config, database: Database, *, host: str, port: int, connections: int
) -> None:
    """Upgrade the schema, then serve until SIGTERM or Ctrl-C."""
    schema.upgrade(database)
    clock = SystemClock()
    app = create_app(config, database=database, clock=clock)
    server = WSGIServer(
        (host, port),
        app,
        spawn=Pool(connections),
        handler_class=NoDelayHandler,
        log=None,
        error_log=log,
    )
    stop = threading.Event()
    worker = threading.Thread(
        target=DeliveryWorker(config, database, clock).run, args=(stop,), name="delivery-worker"
    )
    clock_process = ClockProcess(config, database, clock, standby=True)

    def shut_down() -> None:
        log.info("stopping")
        stop.set()
        stop_broadcaster(app)  # event streams end cleanly; clients resume with Last-Event-ID
        server.stop(timeout=GRACE_S)

    gevent.signal_handler(signal.SIGTERM, shut_down)
    gevent.signal_handler(signal.SIGINT, shut_down)
    # Bind first: a port in use must end the process, not leave a worker and a clock
    # (holding the lease) running in a process that serves nothing.
    server.start()
    try:
        clock_process.start()
        worker.start()
        log.info("serving", extra={"url": f"http://{host}:{server.server_port}"})
        server.serve_forever()
    finally:
        stop.set()
        server.stop(timeout=GRACE_S)
        clock_process.stop()
        if worker.ident is not None:
            worker.join(timeout=GRACE_S)
        database.dispose()
        log.info("stopped")
