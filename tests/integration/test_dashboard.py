"""The dashboard in a real browser (Debian's chromium, driven by Selenium through its
chromedriver, headless) against a real broker, with the pipeline scenario's cases and alerts.

The scenario's outputs are the in-memory pipeline's answer (``tests/scenario.py``'s oracle)
published straight to the section and alert topics with a plain producer, as a worker would
publish them: the worker's own path to them is what ``test_pipeline.py`` checks, and here it
would only add minutes and the order races it tolerates. The dashboard runs as a real
``fieldcourt dashboard`` process, its users added by ``fieldcourt dashboard add-user``.
Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from fieldcourt.acl import prepare_broker
from fieldcourt.dashboard.sessions import _SALT, COOKIE
from fieldcourt.kafka_local import free_port
from fieldcourt.settings import PROJECT_ROOT, Settings, load_settings
from fieldcourt.supervise import DashboardProcess, worker_env
from fieldcourt.topics import ALERTS_TOPIC, AUDIT_TOPIC, case_topic
from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.codec import dumps, loads
from tests.conftest import TEST_KEY
from tests.kafka import consume_until, produce, run
from tests.scenario import oracle, scenario

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
PASSWORDS = {"p12": "p12 password, long", "f3": "f3 password, long", "cojc": "cojc password!"}


@dataclass(frozen=True)
class Story:
    """The scenario's outputs, as published."""

    cases: list[CaseEvent]
    alerts: list[Alert]

    def case_ids(self, section: str) -> set[str]:
        return {e.case_id for e in self.cases if e.section == section.upper()}

    def history(self, section: str, case_id: str) -> list[CaseEvent]:
        return [e for e in self.cases if e.section == section.upper() and e.case_id == case_id]


@dataclass
class Site:
    process: DashboardProcess
    data_dir: Path
    users: dict[str, str]  # role -> user name
    story: Story
    settings: Settings

    @property
    def base(self) -> str:
        return self.process.url("")


def publish_cases(settings: Settings, events: list[CaseEvent]) -> None:
    run(produce(settings, [(case_topic(e.section), e.case_id.encode(), dumps(e)) for e in events]))


@pytest.fixture(scope="module")
def site(kafka_broker: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    settings = load_settings(**kafka_broker, data_dir=data_dir)
    run(prepare_broker(settings))
    tag = uuid.uuid4().hex[:8]
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=40)
    answer = oracle(scenario(f"dash-{tag}", start), TEST_KEY.encode())
    story = Story(list(answer.case_events), list(answer.alerts))
    publish_cases(settings, story.cases)
    run(produce(settings, [(ALERTS_TOPIC, a.sector.encode(), dumps(a)) for a in story.alerts]))

    env = worker_env(
        settings,
        FIELDCOURT_DASHBOARD_PORT=str(free_port()),
        FIELDCOURT_DASHBOARD_SESSION_TTL_S="600",
    )
    users = {role: f"{role}-{tag}" for role in PASSWORDS}
    for role, name in users.items():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fieldcourt.cli",
                "dashboard",
                "add-user",
                name,
                "--section",
                role,
            ],
            input=PASSWORDS[role] + "\n",
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    process = DashboardProcess(env, data_dir / "dashboard").start()
    try:
        process.wait_ready(timeout_s=60)
        yield Site(process, data_dir, users, story, settings)
    finally:
        process.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromedriver are needed: make browser-tools")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,1000",
        "--lang=en-GB",
    ):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, min(max(int(height) + 40, 700), 2400))
    driver.save_screenshot(str(path))
    return path


def wait_for(driver: Any, condition: Any, timeout_s: float = 15.0) -> Any:
    try:
        return WebDriverWait(
            driver,
            timeout_s,
            poll_frequency=0.1,
            ignored_exceptions=[StaleElementReferenceException],
        ).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"not reached in {timeout_s} s on {driver.current_url}:\n{driver.page_source[:3000]}"
        ) from None


def sign_in(driver: Any, site: Site, role: str, password: str | None = None) -> None:
    driver.get(site.base + "/login")
    driver.find_element(By.ID, "name").send_keys(site.users[role])
    driver.find_element(By.ID, "password").send_keys(password or PASSWORDS[role])
    driver.find_element(By.ID, "sign-in").click()


def listed(driver: Any) -> set[str]:
    return {
        row.get_attribute("data-case") for row in driver.find_elements(By.CSS_SELECTOR, "tr.case")
    }


def status_of(site: Site, driver: Any, path: str) -> tuple[int, str]:
    """A GET with the browser's session cookie, for the status code a browser does not show."""
    cookie = driver.get_cookie(COOKIE)
    request = urllib.request.Request(
        site.base + path, headers={"Cookie": f"{COOKIE}={cookie['value']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def consult(driver: Any, site: Site, case_id: str, purpose: str) -> None:
    driver.get(f"{site.base}/cases/{case_id}")
    field = wait_for(driver, lambda d: d.find_element(By.ID, "purpose"))
    field.send_keys(purpose)
    driver.find_element(By.ID, "consult").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "history"))


def test_a_p12_user_sees_the_p12_cases_and_none_of_f3_or_p4(site: Site, browser: Any) -> None:
    sign_in(browser, site, "p12")
    wait_for(browser, lambda d: d.find_elements(By.ID, "open-cases"))
    shown = listed(browser)
    p12 = site.story.case_ids("p12")
    assert p12, "the scenario has a P12 case"
    assert p12 <= shown
    elsewhere = (site.story.case_ids("f3") | site.story.case_ids("p4")) - p12
    assert elsewhere, "the scenario has F3 and P4 cases"
    assert not elsewhere & shown
    source = browser.page_source
    assert not any(case_id in source for case_id in elsewhere)
    assert site.users["p12"] in browser.find_element(By.TAG_NAME, "header").text
    shoot(browser, "dashboard-p12-cases")


def test_a_p12_user_asking_for_an_f3_case_by_url_gets_403_and_nothing_of_it(
    site: Site, browser: Any
) -> None:
    sign_in(browser, site, "p12")
    wait_for(browser, lambda d: d.find_elements(By.ID, "open-cases"))
    f3_only = sorted(site.story.case_ids("f3") - site.story.case_ids("p12"))[0]
    f3_event = site.story.history("f3", f3_only)[0]
    status, body = status_of(site, browser, f"/cases/{f3_only}")
    assert status == 403
    browser.get(f"{site.base}/cases/{f3_only}")
    page = browser.page_source
    for text in (status and body, page):
        assert "access refused" in text
        assert f3_only not in text
        assert f3_event.reason not in text
        assert f3_event.anchor.ref not in text
        assert not any(s.ref in text for s in f3_event.subjects)
    assert not browser.find_elements(By.ID, "purpose")


def test_opening_a_case_records_its_purpose_on_audit_v1_then_shows_its_history(
    site: Site, browser: Any
) -> None:
    sign_in(browser, site, "p12")
    case_id = sorted(site.story.case_ids("p12"))[0]
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-case="{case_id}"] a'))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-case="{case_id}"] a').click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "purpose"))
    assert not browser.find_elements(By.ID, "history")  # nothing before the purpose
    purpose = f"2026/{uuid.uuid4().hex[:6]} flagrance hearing"
    browser.find_element(By.ID, "purpose").send_keys(purpose)
    browser.find_element(By.ID, "consult").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "history"))

    expected = site.story.history("p12", case_id)
    rows = browser.find_elements(By.CSS_SELECTOR, "#history tr.event")
    assert [int(r.get_attribute("data-version")) for r in rows] == [e.version for e in expected]
    for row, event in zip(rows, expected, strict=True):
        assert event.reason in row.text
    if any(e.event_type == "case_transferred" for e in expected):
        assert "out to" in browser.find_element(By.ID, "history").text
    # what the P12 topic does not hold stays out: the case's later life in other sections
    later = [e for e in site.story.cases if e.case_id == case_id and e.section != "P12"]
    assert not any(
        e.reason in browser.page_source
        for e in later
        if e.reason not in {x.reason for x in expected}
    )
    shoot(browser, "dashboard-p12-case")

    def recorded(records: list[Any]) -> bool:
        return any(b"consult" in r.value and purpose.encode() in r.value for r in records)

    audit = run(consume_until(site.settings, [AUDIT_TOPIC], recorded, timeout_s=20))
    mine = [loads(AuditRecord, r.value) for r in audit if recorded([r])]
    assert len(mine) == 1
    record = mine[0]
    assert (record.action, record.actor, record.case_id) == ("consult", site.users["p12"], case_id)
    assert record.purpose == purpose
    assert case_topic("p12") in record.detail


def test_a_case_event_published_while_the_page_is_open_appears_without_reload(
    site: Site, browser: Any
) -> None:
    template = site.story.history("p12", sorted(site.story.case_ids("p12"))[0])[0]
    fresh = template.model_copy(
        update={
            "case_id": f"C-{uuid.uuid4().hex[:20]}",
            "version": 1,
            "emitted_at": dt.datetime.now(dt.UTC),
        }
    )
    sign_in(browser, site, "p12")
    wait_for(browser, lambda d: d.find_elements(By.ID, "open-cases"))
    wait_for(
        browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-sse") == "open"
    )
    browser.execute_script("window.notReloaded = true;")
    publish_cases(site.settings, [fresh])
    wait_for(browser, lambda d: fresh.case_id in listed(d))
    assert browser.execute_script("return window.notReloaded === true;")

    consult(browser, site, fresh.case_id, "2026/live check")
    wait_for(
        browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-sse") == "open"
    )
    browser.execute_script("window.notReloaded = true;")
    update = fresh.model_copy(
        update={
            "event_type": "case_updated",
            "version": 2,
            "reason": f"live update {uuid.uuid4().hex}",
            "emitted_at": dt.datetime.now(dt.UTC),
        }
    )
    publish_cases(site.settings, [update])
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#history tr[data-version="2"]'))
    assert update.reason in browser.find_element(By.ID, "history").text
    assert browser.execute_script("return window.notReloaded === true;")


def test_the_cojc_map_shows_the_scenario_s_alerts_in_rosa_parks(site: Site, browser: Any) -> None:
    rosa = {a.alert_id for a in site.story.alerts if a.sector == "rosa-parks"}
    assert rosa, "the scenario raises alerts in rosa-parks"
    sign_in(browser, site, "cojc")
    sector = wait_for(browser, lambda d: d.find_element(By.ID, "sector-rosa-parks"))
    assert int(sector.get_attribute("data-alerts")) >= len(rosa)
    assert "alerted" in sector.get_attribute("class")
    timeline = {
        r.get_attribute("data-alert")
        for r in browser.find_elements(
            By.CSS_SELECTOR, '#timeline tr.alert[data-sector="rosa-parks"]'
        )
    }
    assert rosa <= timeline
    count = browser.find_element(By.CSS_SELECTOR, 'svg .count[data-sector="rosa-parks"] text')
    assert int(count.text) >= len(rosa)
    # the COJC reads alerts, not cases
    assert status_of(site, browser, f"/cases/{sorted(site.story.case_ids('p12'))[0]}")[0] == 403
    shoot(browser, "dashboard-cojc-map")


def test_sign_out_ends_the_session(site: Site, browser: Any) -> None:
    sign_in(browser, site, "f3")
    wait_for(browser, lambda d: d.find_elements(By.ID, "sign-out"))
    old = browser.get_cookie(COOKIE)["value"]
    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, lambda d: "You are signed out" in d.page_source)
    browser.get(site.base + "/")
    wait_for(browser, lambda d: d.find_elements(By.ID, "sign-in"))
    # the cookie from before, replayed, no longer opens anything
    request = urllib.request.Request(site.base + "/", headers={"Cookie": f"{COOKIE}={old}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.url.endswith("/login")


def test_wrong_password_missing_csrf_token_and_expired_session_are_refused(
    site: Site, browser: Any
) -> None:
    sign_in(browser, site, "p12", password="not the password")
    wait_for(browser, lambda d: d.find_elements(By.ID, "error"))
    assert "Wrong user name or password" in browser.find_element(By.ID, "error").text
    assert not browser.find_elements(By.ID, "sign-out")

    browser.get(site.base + "/login")
    browser.execute_script("document.querySelector('input[name=csrf]').remove();")
    browser.find_element(By.ID, "name").send_keys(site.users["p12"])
    browser.find_element(By.ID, "password").send_keys(PASSWORDS["p12"])
    browser.find_element(By.ID, "sign-in").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "refusal"))
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(site.base + "/")
    assert browser.find_elements(By.ID, "sign-in")  # not signed in

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3600  # the test dashboard's sessions last 600 s

    secret = (site.data_dir / "dashboard" / "session.key").read_text().strip().encode()
    payload = {"sid": "x", "csrf": "y", "user": site.users["p12"], "role": "p12"}
    expired = URLSafeTimedSerializer(secret, salt=_SALT, signer=LongAgo).dumps(payload)
    browser.delete_all_cookies()
    browser.add_cookie({"name": COOKIE, "value": expired, "path": "/"})
    browser.get(site.base + "/")
    wait_for(browser, lambda d: "Your session has expired" in d.page_source)
    assert not browser.find_elements(By.ID, "open-cases")
    shoot(browser, "dashboard-expired")


def test_a_restart_rebuilds_the_same_cases_from_the_topics(site: Site, browser: Any) -> None:
    sign_in(browser, site, "p12")
    wait_for(browser, lambda d: d.find_elements(By.ID, "open-cases"))
    before = listed(browser)
    site.process.stop()
    site.process.start()
    site.process.wait_ready(timeout_s=60)
    browser.get(site.base + "/")  # the session survives the restart: the key is kept
    wait_for(browser, lambda d: d.find_elements(By.ID, "open-cases"))
    assert listed(browser) == before
