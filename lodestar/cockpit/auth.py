"""Server-side sessions of the cockpit: random tokens, an absolute expiry (``LODESTAR_COCKPIT_SESSION_MINUTES``,
8 hours by default), kept in the server's memory.

The browser carries the token in an HttpOnly, SameSite=Strict cookie; API clients may send it as a Bearer token.
A restart signs everyone out, which is the safe direction for a one-process laptop server.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from lodestar.cockpit.users import Principal
from lodestar.settings import get_settings

COOKIE = "lodestar_session"


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: float  # unix time


class SessionStore:
    def __init__(self, minutes: float | None = None) -> None:
        self.minutes = float(minutes if minutes is not None else get_settings().cockpit_session_minutes)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, principal: Principal) -> Session:
        s = Session(secrets.token_urlsafe(32), principal, time.time() + 60 * self.minutes)
        with self._lock:
            now = time.time()
            for t in [t for t, v in self._sessions.items() if v.expires_at <= now]:
                del self._sessions[t]
            self._sessions[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return None
            if s.expires_at <= time.time():
                del self._sessions[token]
                return None
            return s

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)
