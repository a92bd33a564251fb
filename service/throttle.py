"""Throttling of repeated bad tokens from one client (per process, in memory)."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from service.errors import TooManyAttempts


class BadTokenThrottle:
    """Slows down token guessing: past `limit` bad tokens per client in `window`, 429."""

    def __init__(
        self, limit: int = 20, window: timedelta = timedelta(minutes=1), max_clients: int = 10_000
    ) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, now: datetime) -> None:
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) >= self.limit:
                wait = int((recent[0] + self.window - now).total_seconds()) + 1
                raise TooManyAttempts(f"无效令牌过多，请 {wait} 秒后再试", retry_after=wait)

    def record(self, client: str, now: datetime) -> None:
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.max_clients:
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(client, deque()).append(now)

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        recent = self._failures.get(client, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent
