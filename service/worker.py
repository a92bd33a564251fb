"""The webhook delivery worker: claim endpoints, send their messages, record the answers.

The database side lives in `service.services.delivery`; this module owns the loop,
the one long-lived transport, the clock and the randomness. `checklist worker` runs
it alone; `checklist serve` runs it beside the web app.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from service.clock import Clock
from service.config import Config
from service.db import DATABASE_ERRORS, Database, describe_connection_error
from service.services.delivery import (
    DeliverySettings,
    Endpoint,
    Message,
    Recorded,
    claim,
    next_messages,
    record,
    release,
)
from webhooks.formats import FORMATS
from webhooks.retry import Outcome, Verdict, classify
from webhooks.transport import Attempt, Transport

log = logging.getLogger(__name__)

# The database went away: wait a poll interval and try again, like any idle pass.
def default_worker_id() -> str:
    """Host, process and a random suffix: unique per worker, readable in the lease column."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryWorker:
    """Delivers pending webhook messages, one endpoint lease at a time."""

    def __init__(
        self,
        config: Config,
        database: Database,
        clock: Clock,
        transport: Transport | None = None,
        rng: random.Random | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.config = config
        self.database = database
        self.clock = clock
        self._owns_transport = transport is None
        self.transport = transport or Transport(
            monotonic=time.monotonic, allowed_networks=config.allowed_networks
        )
        self.rng = rng or random.Random()
        self.worker_id = worker_id or default_worker_id()
        self.settings = DeliverySettings.from_config(config)
        self._stop = threading.Event()

    def run_once(self, now: datetime | None = None) -> int:
        """One pass: claim endpoints with due deliveries and send; the number of messages sent.

        With `now` the whole pass happens at that instant (tests drive simulated time);
        otherwise the clock is read at each step.
        """
        read: Callable[[], datetime] = (lambda: now) if now else self.clock.now
        sent = 0
        for subscription_id in claim(self.database, self.worker_id, read(), self.settings.lease):
            try:
                sent += self._serve(subscription_id, read)
            except DATABASE_ERRORS:
                raise
            except Exception:
                # One endpoint's trouble (a bug, bad stored data) must not stall the others.
                log.exception("delivery failed", extra={"subscription_id": subscription_id})
            finally:
                release(self.database, subscription_id, self.worker_id)
        return sent

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop` is set: again at once while busy, after a poll when idle."""
        self._stop = stop
        log.info("delivery worker started", extra={"worker": self.worker_id})
        try:
            while not stop.is_set():
                stop.wait(0 if self._pass() else self.config.worker_poll_seconds)
        finally:
            self.close()
            log.info("delivery worker stopped", extra={"worker": self.worker_id})

    def close(self) -> None:
        """Close the transport's pooled connections, if this worker made the transport."""
        if self._owns_transport:
            self.transport.close()

    def _pass(self) -> bool:
        try:
            return self.run_once() > 0
        except DATABASE_ERRORS as error:
            log.warning(
                "database unavailable",
                extra={"error": describe_connection_error(self.database.url, error)},
            )
        except Exception:
            log.exception("delivery pass failed")
        return False

    def _serve(self, subscription_id: int, read: Callable[[], datetime]) -> int:
        plan = next_messages(
            self.database, subscription_id, self.worker_id, read(), self.settings.lease
        )
        if plan is None:
            return 0
        sent = 0
        for message in plan.messages:
            if self._stop.is_set():
                break
            sent += 1
            if not self._send(plan.endpoint, message, read()).keep_going:
                break
        return sent

    def _send(self, endpoint: Endpoint, message: Message, now: datetime) -> Recorded:
        attempt, verdict = self._attempt(endpoint, message, now)
        recorded = record(
            self.database,
            endpoint,
            message,
            attempt,
            verdict,
            worker_id=self.worker_id,
            now=now,
            rng=self.rng,
            settings=self.settings,
        )
        level = logging.INFO if verdict.outcome is Outcome.DELIVERED else logging.WARNING
        log.log(
            level,
            "webhook attempt",
            extra={
                "subscription_id": endpoint.subscription_id,
                "format": endpoint.format,
                "msg_id": message.msg_id,
                "events": len(message.events),
                "status": attempt.status,
                "latency_ms": round(attempt.latency_s * 1000),
                "outcome": recorded.outcome,
                "reason": verdict.reason,
                "worker": self.worker_id,
            },
        )
        return recorded

    def _attempt(
        self, endpoint: Endpoint, message: Message, now: datetime
    ) -> tuple[Attempt, Verdict]:
        """Render (again for every attempt: signatures embed the time), post, classify."""
        try:
            request = FORMATS[endpoint.format].render(
                message.events,
                base_url=self.config.base_url,
                secrets=endpoint.secrets,
                now=now,
                msg_id=message.msg_id,
            )
        except Exception as error:
            # A message that cannot be rendered never will be: fail it, keep the rest going.
            log.exception("render failed", extra={"msg_id": message.msg_id})
            reason = f"消息生成失败：{type(error).__name__}"
            return Attempt(None, error=reason), Verdict(Outcome.PERMANENT, reason)
        attempt = self.transport.post(endpoint.url, request)
        return attempt, classify(endpoint.format, attempt, now)
