"""Sessions in signed cookies: who is signed in, until when, and the CSRF token of the forms.

The cookie holds ``{sid, user, role, csrf}`` signed with the dashboard's secret and its time
of issue (itsdangerous): a changed cookie fails the signature, an old one fails ``max_age``.
Before sign-in an anonymous session carries only the CSRF token of the sign-in form. Signing
out revokes the session id on this server until the cookie would have expired anyway.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "fieldcourt_session"
_SALT = "fieldcourt.dashboard.session"


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    user: str | None = None  # None: not signed in yet
    role: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


def load_secret(path: Path) -> bytes:
    """The signing key, made once (readable by its owner only) and kept across restarts so
    that a restart does not sign everyone out."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class Sessions:
    def __init__(self, secret: bytes, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._revoked: dict[str, float] = {}  # sid -> when its cookie expires anyway

    def new(self, user: str | None = None, role: str | None = None) -> Session:
        """A fresh session id and CSRF token: at sign-in too, so that a session id known
        before signing in is worth nothing after."""
        return Session(secrets.token_urlsafe(16), secrets.token_urlsafe(24), user, role)

    def dump(self, session: Session) -> str:
        payload = {"sid": session.sid, "csrf": session.csrf}
        if session.user is not None:
            payload |= {"user": session.user, "role": session.role or ""}
        return str(self._serializer.dumps(payload))

    def load(self, cookie: str | None) -> tuple[Session | None, bool]:
        """The session a cookie carries, and whether it was refused as expired."""
        if not cookie:
            return None, False
        try:
            payload = self._serializer.loads(cookie, max_age=max(1, round(self.ttl_s)))
        except SignatureExpired:
            return None, True
        except BadSignature:
            return None, False
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(k), str) for k in ("sid", "csrf")
        ):
            return None, False
        if payload["sid"] in self._revoked:
            return None, False
        user, role = payload.get("user"), payload.get("role")
        return Session(
            payload["sid"],
            payload["csrf"],
            user if isinstance(user, str) else None,
            role if isinstance(role, str) else None,
        ), False

    def revoke(self, session: Session) -> None:
        now = time.time()
        self._revoked = {sid: until for sid, until in self._revoked.items() if until > now}
        self._revoked[session.sid] = now + self.ttl_s
