"""The dashboard's pages: sign-in and sign-out, a section's cases, one case behind its
consultation form, the COJC's map and timeline, and the server-sent events that keep a page
up to date.

Access is decided here, by the signed-in user's role alone: a section user reads what that
section's topic holds and nothing else (another section's case page is 403 and says nothing
of it, not even whether it exists); the COJC reads the alerts. Every POST form carries the
session's CSRF token and is refused (403) without it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import jinja2
import orjson
from aiohttp import web

from fieldcourt.dashboard.sectormap import SectorMap
from fieldcourt.dashboard.sessions import COOKIE, Session, Sessions
from fieldcourt.dashboard.state import CaseFilter, Change, DashboardState
from fieldcourt.dashboard.users import User, UserStore, role_label, role_topic
from fieldcourt.topics import SECTIONS

log = logging.getLogger("fieldcourt.dashboard")
PARIS = ZoneInfo("Europe/Paris")
MAX_PURPOSE = 200
#: A comment line on every open event stream this often, so that proxies keep it open and a
#: signed-out or expired session's stream ends.
HEARTBEAT_S = 15.0

#: (actor, purpose, case id, topic) -> returns once the consultation is recorded.
Audit = Callable[[str, str, str, str], Awaitable[None]]


@dataclass
class Dashboard:
    users: UserStore
    sessions: Sessions
    state: DashboardState
    sector_map: SectorMap
    audit: Audit
    ready: Callable[[], bool]
    secure_cookies: bool = False
    heartbeat_s: float = HEARTBEAT_S
    #: Case ids whose consultation each session recorded (by session id), and when the
    #: session's first was: past the session lifetime the session is gone, and so is this.
    consulted: dict[str, tuple[float, set[str]]] = field(default_factory=dict)
    templates: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("fieldcourt.dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["paris"] = _paris


DASHBOARD = web.AppKey("dashboard", Dashboard)


@dataclass
class Visit:
    """What the middleware learnt of a request: its session, its user and the nonce of the
    page's inline script and style."""

    session: Session | None
    user: User | None
    expired: bool  # the cookie was refused as expired
    nonce: str


VISIT = web.RequestKey("visit", Visit)


class Refused(Exception):
    """Answered with the error page: the status and a sentence, nothing else."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _paris(moment: dt.datetime) -> str:
    return f"{moment.astimezone(PARIS):%Y-%m-%d %H:%M}"


def _headers(request: web.Request) -> dict[str, str]:
    nonce = request[VISIT].nonce
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


@web.middleware
async def session_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Reads the session cookie into ``request[VISIT]`` (a user removed from the file, or
    given another role, is signed out), and sets the security headers of every answer."""
    dash = request.app[DASHBOARD]
    session, expired = dash.sessions.load(request.cookies.get(COOKIE))
    user = None
    if session is not None and session.user is not None:
        user = dash.users.get(session.user)
        if user is None or user.role != session.role:
            session, user = None, None
    request[VISIT] = Visit(session, user, expired, secrets.token_urlsafe(16))
    try:
        response = await handler(request)
    except Refused as refused:
        response = refuse(request, refused.status, refused.message)
    except web.HTTPException as exc:
        exc.headers.update(_headers(request))
        raise
    if not response.prepared:
        response.headers.update(_headers(request))
    return response


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    dash = request.app[DASHBOARD]
    session, user = request[VISIT].session, request[VISIT].user
    page = dash.templates.get_template(template).render(
        nonce=request[VISIT].nonce,
        user=user,
        role=role_label(user.role) if user else None,
        section_name=SECTIONS.get(user.role, "COJC (sector coordination)") if user else None,
        csrf=session.csrf if session else "",
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html")


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", status=status, status_code=status, message=message)


def _set_session(dash: Dashboard, response: web.StreamResponse, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        dash.sessions.dump(session),
        max_age=int(dash.sessions.ttl_s),
        httponly=True,
        samesite="Strict",
        secure=dash.secure_cookies,
        path="/",
    )


def _to_sign_in(request: web.Request) -> NoReturn:
    where = "/login?expired=1" if request[VISIT].expired else "/login"
    raise web.HTTPSeeOther(where)


def _signed_in(request: web.Request) -> tuple[Session, User]:
    session, user = request[VISIT].session, request[VISIT].user
    if session is None or user is None:
        _to_sign_in(request)
    return session, user


async def sign_in_page(request: web.Request) -> web.Response:
    dash = request.app[DASHBOARD]
    if request[VISIT].user is not None:
        raise web.HTTPSeeOther("/")
    session = request[VISIT].session or dash.sessions.new()
    request[VISIT].session = session
    notice = None
    if request[VISIT].expired or request.query.get("expired"):
        notice = "Your session has expired: sign in again."
    elif request.query.get("signed_out"):
        notice = "You are signed out."
    response = render(request, "login.html", notice=notice, error=None, name="")
    _set_session(dash, response, session)
    return response


async def _form(request: web.Request, again: str = "") -> tuple[Any, Session]:
    """The posted form and its session, refused unless it carries the session's CSRF token;
    ``again`` tells the user what to do then."""
    form = await request.post()
    session = request[VISIT].session
    if session is None or not session.csrf_ok(_field(form, "csrf")):
        raise Refused(403, f"This form was not sent by this site, or it has expired{again}.")
    return form, session


async def sign_in(request: web.Request) -> web.Response:
    dash = request.app[DASHBOARD]
    form, _session = await _form(request, ": open the sign-in page again")
    name, password = _field(form, "name") or "", _field(form, "password") or ""
    loop = asyncio.get_running_loop()
    user = await loop.run_in_executor(None, dash.users.authenticate, name.strip(), password)
    if user is None:
        log.info("dashboard: sign-in refused for %r", name[:64])
        return render(
            request,
            "login.html",
            status=401,
            notice=None,
            error="Wrong user name or password.",
            name=name[:64],
        )
    fresh = dash.sessions.new(user.name, user.role)
    log.info("dashboard: %s signed in (%s)", user.name, user.role)
    response = web.HTTPSeeOther("/")
    _set_session(dash, response, fresh)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    dash = request.app[DASHBOARD]
    _form_data, session = await _form(request)
    dash.sessions.revoke(session)
    dash.consulted.pop(session.sid, None)
    response = web.HTTPSeeOther("/login?signed_out=1")
    response.del_cookie(COOKIE, path="/")
    raise response


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _case_filter(query: Any) -> CaseFilter:
    def text(name: str) -> str | None:
        value = query.get(name, "").strip()
        return value or None

    escalated = {"yes": True, "no": False}.get(query.get("escalated", ""))
    days = None
    raw = query.get("days", "").strip()
    if raw.isdigit() and 0 < int(raw) <= 3650:
        days = int(raw)
    return CaseFilter(text("sector"), text("rule"), escalated, days)


async def home(request: web.Request) -> web.Response:
    _session, user = _signed_in(request)
    dash = request.app[DASHBOARD]
    if user.role == "cojc":
        return render(
            request,
            "cojc.html",
            live="all",
            map=dash.sector_map,
            counts=dash.state.alerts_by_sector(),
            moves=dash.state.moves(),
            timeline=dash.state.timeline(),
            ready=dash.ready(),
        )
    section = dash.state.sections[user.role]
    chosen = _case_filter(request.query)
    now = dt.datetime.now(dt.UTC)
    cases = section.sorted(chosen, now)
    return render(
        request,
        "section.html",
        live="all",
        open_cases=[c for c in cases if c.is_open],
        moved_cases=[c for c in cases if not c.is_open],
        total=len(section.cases),
        sectors=section.sectors(),
        rules=section.rules(),
        chosen=chosen,
        ready=dash.ready(),
    )


def _readable_case(request: web.Request, user: User) -> Any:
    """The case of the URL as the user's section sees it; 403 for the COJC and for any case
    that is not on the user's section topic, the same answer whether it exists elsewhere."""
    dash = request.app[DASHBOARD]
    case_id = request.match_info["case_id"]
    case = None if user.role == "cojc" else dash.state.case(user.role, case_id)
    if case is None:
        raise Refused(403, f"Not a case of {role_label(user.role)}: access refused.")
    return case


async def case_page(request: web.Request) -> web.Response:
    session, user = _signed_in(request)
    dash = request.app[DASHBOARD]
    case = _readable_case(request, user)
    if case.case_id not in dash.consulted.get(session.sid, (0.0, set()))[1]:
        return render(request, "purpose.html", case_id=case.case_id, error=None, purpose="")
    return render(request, "case.html", live=case.case_id, case=case)


async def consult(request: web.Request) -> web.Response:
    session, user = _signed_in(request)
    dash = request.app[DASHBOARD]
    form, _session = await _form(request)
    case = _readable_case(request, user)
    purpose = " ".join((_field(form, "purpose") or "").split())
    if not purpose or len(purpose) > MAX_PURPOSE:
        return render(
            request,
            "purpose.html",
            status=400,
            case_id=case.case_id,
            purpose=purpose[:MAX_PURPOSE],
            error=f"Give a procedure number or a short reason (at most {MAX_PURPOSE} characters).",
        )
    try:
        await dash.audit(user.name, purpose, case.case_id, role_topic(user.role))
    except Exception:
        log.exception("dashboard: the consultation of %s could not be recorded", case.case_id)
        raise Refused(
            503,
            "The consultation could not be recorded in the audit log, so the case is not "
            "shown. Try again in a moment.",
        ) from None
    now = time.monotonic()
    dash.consulted = {
        sid: entry for sid, entry in dash.consulted.items() if now - entry[0] < dash.sessions.ttl_s
    }
    dash.consulted.setdefault(session.sid, (now, set()))[1].add(case.case_id)
    raise web.HTTPSeeOther(f"/cases/{case.case_id}")


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``change`` with ``{"kind", "id"}`` for each case event or alert of
    the user's role; the page fetches itself again. Ends with the session (expiry, sign-out)
    or the server."""
    dash = request.app[DASHBOARD]
    session, user = request[VISIT].session, request[VISIT].user
    if session is None or user is None:
        return web.Response(status=401, text="sign in first")
    cookie = request.cookies.get(COOKIE)
    response = web.StreamResponse(
        headers={
            **_headers(request),
            "Content-Type": "text/event-stream",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    with dash.state.listen(user.role) as queue:
        while True:
            try:
                change: Change | None = await asyncio.wait_for(queue.get(), dash.heartbeat_s)
            except TimeoutError:
                still, _ = dash.sessions.load(cookie)
                if still is None:
                    break
                await response.write(b": still here\n\n")
                continue
            if change is None:  # the server is stopping
                break
            data = orjson.dumps({"kind": change.kind, "id": change.id}).decode()
            await response.write(f"event: change\ndata: {data}\n\n".encode())
    return response


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    if request.app[DASHBOARD].ready():
        return web.Response(text="ready\n")
    return web.Response(status=503, text="reading the topics\n")


def build_app(dashboard: Dashboard) -> web.Application:
    app = web.Application(middlewares=[session_middleware], client_max_size=64 * 1024)
    app[DASHBOARD] = dashboard
    app.router.add_get("/", home)
    app.router.add_get("/login", sign_in_page)
    app.router.add_post("/login", sign_in)
    app.router.add_post("/logout", sign_out)
    app.router.add_get(r"/cases/{case_id:C-[0-9a-z]{1,64}}", case_page)
    app.router.add_post(r"/cases/{case_id:C-[0-9a-z]{1,64}}/consult", consult)
    app.router.add_get("/events", events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    async def close_streams(_app: web.Application) -> None:
        dashboard.state.close_listeners()

    app.on_shutdown.append(close_streams)
    return app
