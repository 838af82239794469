"""The dashboard over HTTP: sign-in, CSRF, expiry and sign-out; what each role may read; the
consultation recorded before a case is shown; live changes by server-sent events."""

from __future__ import annotations

import asyncio
import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from fieldcourt.dashboard.sessions import _SALT, COOKIE
from fieldcourt.dashboard.users import parse_users, write_users
from fieldcourt.topics import ALERTS_TOPIC, case_topic
from tests.unit.fieldcourt.dashboard.conftest import SECRET, Site, alert, case, feed


async def test_signed_out_pages_lead_to_sign_in(site: Site) -> None:
    for path in ("/", "/cases/C-p12open"):
        response = await site.client.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == "/login"
    assert (await site.client.get("/events")).status == 401


async def test_a_wrong_password_or_user_is_refused(site: Site) -> None:
    for name, password in [("alice", "wrong password!"), ("nobody", "correct horse battery")]:
        response = await site.sign_in(name, password)
        assert response.status == 401
        assert "Wrong user name or password." in await response.text()
    assert (await site.client.get("/", allow_redirects=False)).status == 303


async def test_sign_in_without_or_with_a_wrong_csrf_token_is_refused(site: Site) -> None:
    await site.csrf()  # the anonymous session exists
    for data in (
        {"name": "alice", "password": "correct horse battery"},
        {"name": "alice", "password": "correct horse battery", "csrf": "forged"},
    ):
        response = await site.client.post("/login", data=data, allow_redirects=False)
        assert response.status == 403
    assert (await site.client.get("/", allow_redirects=False)).status == 303


async def test_a_section_user_sees_only_the_section_topic(site: Site) -> None:
    assert (await site.sign_in("alice")).status == 303
    page = await (await site.client.get("/")).text()
    assert "C-p12open" in page
    assert "C-p12gone" in page
    assert "transferred to F3" in page
    assert "C-f3secret" not in page
    assert "A-rosa1" not in page


async def test_another_section_s_case_is_403_and_says_nothing_of_it(site: Site) -> None:
    await site.sign_in("alice")
    for path in ("/cases/C-f3secret", "/cases/C-doesnotexist"):
        response = await site.client.get(path)
        assert response.status == 403
        body = await response.text()
        assert "C-f3secret" not in body
        assert "F3 secret reason" not in body
        assert "stalingrad" not in body
    # nor may it be consulted by posting the form directly
    token = await site.csrf("/")
    response = await site.client.post(
        "/cases/C-f3secret/consult", data={"csrf": token, "purpose": "curious"}
    )
    assert response.status == 403
    assert site.audits.calls == []


async def test_the_cojc_sees_the_map_and_no_case(site: Site) -> None:
    await site.sign_in("carla")
    page = await (await site.client.get("/")).text()
    assert 'data-sector="rosa-parks" data-alerts="1"' in page
    assert 'data-sector="les-halles" data-alerts="0"' in page
    assert "A-rosa1" in page
    assert "C-p12open" not in page
    assert (await site.client.get("/cases/C-p12open")).status == 403


async def test_a_case_is_shown_once_its_consultation_is_recorded(site: Site) -> None:
    await site.sign_in("alice")
    form = await (await site.client.get("/cases/C-p12gone")).text()
    assert "Purpose of this consultation" in form
    assert "moved to F3" not in form  # nothing of the case before the purpose
    token = await site.csrf("/cases/C-p12gone")

    no_token = await site.client.post("/cases/C-p12gone/consult", data={"purpose": "2026/17"})
    assert no_token.status == 403
    blank = await site.client.post("/cases/C-p12gone/consult", data={"csrf": token, "purpose": " "})
    assert blank.status == 400
    assert site.audits.calls == []

    shown = await site.client.post(
        "/cases/C-p12gone/consult", data={"csrf": token, "purpose": " 2026/00017 "}
    )
    assert shown.status == 200
    page = await shown.text()
    assert site.audits.calls == [("alice", "2026/00017", "C-p12gone", case_topic("p12"))]
    assert "moved on" in page
    assert "moved to F3" in page
    assert "out to F3" in page
    assert page.index('data-version="1"') < page.index('data-version="2"')
    # the same session reopens it without asking again
    assert "moved to F3" in await (await site.client.get("/cases/C-p12gone")).text()


async def test_no_case_is_shown_when_its_consultation_cannot_be_recorded(site: Site) -> None:
    await site.sign_in("alice")
    site.audits.failing = True
    token = await site.csrf("/cases/C-p12open")
    response = await site.client.post(
        "/cases/C-p12open/consult", data={"csrf": token, "purpose": "2026/1"}
    )
    assert response.status == 503
    assert "P12 reason one" not in await response.text()
    assert "P12 reason one" not in await (await site.client.get("/cases/C-p12open")).text()


async def test_an_expired_or_forged_session_is_refused(site: Site) -> None:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600

    payload = {"sid": "s1", "csrf": "c1", "user": "alice", "role": "p12"}
    expired = URLSafeTimedSerializer(SECRET, salt=_SALT, signer=LongAgo).dumps(payload)
    forged = URLSafeTimedSerializer(b"1" * 32, salt=_SALT).dumps(payload)
    for cookie, where in ((expired, "/login?expired=1"), (forged, "/login")):
        site.client.session.cookie_jar.update_cookies({COOKIE: cookie})
        response = await site.client.get("/", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == where
    site.client.session.cookie_jar.update_cookies({COOKIE: expired})
    page = await (await site.client.get("/login?expired=1")).text()
    assert "Your session has expired" in page


async def test_sign_out_needs_its_token_and_ends_the_session_for_good(site: Site) -> None:
    await site.sign_in("alice")
    cookie = site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))[COOKIE]
    token = await site.csrf("/")
    assert (await site.client.post("/logout", data={}, allow_redirects=False)).status == 403
    response = await site.client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?signed_out=1"
    # the old cookie, replayed, is worth nothing
    site.client.session.cookie_jar.update_cookies({COOKIE: cookie.value})
    assert (await site.client.get("/", allow_redirects=False)).status == 303


async def test_filters_narrow_the_list(site: Site) -> None:
    feed(
        site.state,
        case_topic("p12"),
        case(
            "p12",
            "C-p12esc",
            event_type="case_escalated",
            previous_section="P12",
            sector="rosa-parks",
            rule_ids=["p20.recurrence"],
            emitted_at="2020-01-01T00:00:00Z",
        ),
    )
    await site.sign_in("alice")

    async def listed(query: str) -> set[str]:
        page = await (await site.client.get(f"/?{query}")).text()
        return {c for c in ("C-p12open", "C-p12gone", "C-p12esc") if f'data-case="{c}"' in page}

    assert await listed("") == {"C-p12open", "C-p12gone", "C-p12esc"}
    assert await listed("sector=rosa-parks") == {"C-p12esc"}
    assert await listed("rule=p20.recurrence") == {"C-p12esc"}
    assert await listed("escalated=yes") == {"C-p12esc"}
    assert await listed("escalated=no") == {"C-p12open", "C-p12gone"}
    assert "C-p12esc" not in await listed("days=30")  # arrived in 2020


async def test_live_changes_reach_only_the_role_they_belong_to(site: Site) -> None:
    await site.sign_in("alice")
    response = await site.client.get("/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert (await response.content.readline()).startswith(b"retry:")
    feed(site.state, case_topic("f3"), case("f3", "C-f3other"))
    feed(site.state, ALERTS_TOPIC, alert("A-other"))
    feed(site.state, case_topic("p12"), case("p12", "C-p12new"))
    lines = []
    while not any(b"C-p12new" in line for line in lines):
        lines.append(await asyncio.wait_for(response.content.readline(), 5))
    assert b"event: change\n" in lines
    assert not any(b"C-f3other" in line or b"A-other" in line for line in lines)
    response.close()


async def test_a_stream_ends_when_its_session_is_signed_out(site: Site) -> None:
    await site.sign_in("alice")
    token = await site.csrf("/")
    stream = await site.client.get("/events")
    await site.client.post("/logout", data={"csrf": token})
    # the next heartbeat finds the session revoked and ends the stream
    assert await asyncio.wait_for(stream.content.read(), 5) is not None
    assert stream.content.at_eof()


async def test_pages_carry_security_headers(site: Site) -> None:
    response = await site.client.get("/login")
    assert "script-src 'nonce-" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"


async def test_a_user_removed_from_the_file_is_signed_out_at_the_next_request(site: Site) -> None:
    assert (await site.sign_in("fred")).status == 303
    assert (await site.client.get("/", allow_redirects=False)).status == 200
    path = site.dashboard.users.path
    saved = path.read_text()
    try:
        write_users(path, [u for u in parse_users(saved).values() if u.name != "fred"])
        assert (await site.client.get("/", allow_redirects=False)).status == 303
    finally:
        path.write_text(saved)
