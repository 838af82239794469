"""The demo as CI runs it (``make demo DEMO_ARGS=--quick``): exit code, summary, checklist and
nothing left running; and Ctrl-C or SIGTERM at any point stops everything it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldcourt.demo import OUTCOMES
from fieldcourt.kafka_local import free_port, free_ports
from fieldcourt.settings import PROJECT_ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def processes_mentioning(text: str | Path) -> list[int]:
    """Live processes whose command line or environment mentions ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(text).encode() in blob:
            found.append(int(proc.name))
    return found


def demo_env(tmp_path: Path) -> dict[str, str]:
    """Our environment without FIELDCOURT_* settings nor an outer make's, on free ports."""
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_") and k not in drop}
    port, controller = free_ports(2)
    env.update(
        FIELDCOURT_DATA_DIR=str(tmp_path),
        FIELDCOURT_KAFKA_PORT=str(port),
        FIELDCOURT_KAFKA_CONTROLLER_PORT=str(controller),
        FIELDCOURT_SESSION_TIMEOUT_S="8",
        COLUMNS="120",
        PYTHONIOENCODING="utf-8",  # the checklist's marks, whatever the locale
        PYTHONUNBUFFERED="1",
    )
    return env


def test_make_demo_tells_the_story_and_leaves_no_process(tmp_path: Path) -> None:
    # ``-o venv``: the venv is the one running this test; with no install stamp (a developer's
    # machine) make would reinstall it mid-test. CI's ``make test`` has just made it anyway.
    started = time.monotonic()
    result = subprocess.run(
        ["make", "-o", "venv", "demo", "DEMO_ARGS=--quick"],
        cwd=PROJECT_ROOT,
        env=demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    print(f"make demo DEMO_ARGS=--quick: {time.monotonic() - started:.1f} s wall time")
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-2000:]
    assert "kafka stopped" in out
    summary = out[out.index("fieldcourt demo: summary") :]
    assert re.search(r"dead-lettered\W+1\W", summary)
    for outcome in OUTCOMES:
        assert f"✓ {outcome.label}" in summary
    assert "✗" not in summary
    assert re.search(rf"demo finished in \d+ s: all {len(OUTCOMES)} outcomes", summary)
    assert processes_mentioning(tmp_path) == []


class Demo:
    """``fieldcourt demo --quick`` as a child process whose output is read as it comes."""

    def __init__(self, tmp_path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldcourt.cli", "demo", "--quick"],
            env=demo_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 150.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert self.proc.poll() is None, f"the demo ended first:\n{self.output[-4000:]}"
            assert time.monotonic() < deadline, f"not reached:\n{self.output[-4000:]}"
            time.sleep(0.05)

    def interrupt(self, sig: signal.Signals) -> int:
        """Send ``sig``; the exit status once the demo has cleaned up and its output is read."""
        self.proc.send_signal(sig)
        status = self.proc.wait(timeout=90)
        self._reader.join(timeout=10)
        return status

    def close(self) -> None:
        """After a failed test too: SIGTERM (the demo cleans up), then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_ctrl_c_while_the_story_plays_stops_everything(demo: Demo, tmp_path: Path) -> None:
    demo.wait_until(lambda: any(line.lstrip().startswith("4.") for line in demo.lines))
    status = demo.interrupt(signal.SIGINT)
    assert status == 130, demo.output[-4000:]
    assert "demo interrupted (SIGINT)" in demo.output
    assert "worker stopped" in demo.output
    assert "kafka stopped" in demo.output
    assert processes_mentioning(tmp_path) == []


def test_sigterm_while_the_broker_starts_stops_it(demo: Demo, tmp_path: Path) -> None:
    """The broker runs in its own session: the demo must stop it, mid-start too."""
    pid_file = tmp_path / "demo" / "kafka" / "broker.pid"
    demo.wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    broker = int(pid_file.read_text())
    status = demo.interrupt(signal.SIGTERM)
    assert status == 143, demo.output[-4000:]
    assert "demo interrupted (SIGTERM)" in demo.output
    assert not Path(f"/proc/{broker}").exists()
    assert processes_mentioning(tmp_path) == []


def test_the_demo_serves_the_dashboard_to_its_demo_users_until_ctrl_c(tmp_path: Path) -> None:
    """``make demo`` without ``--quick``, less the background activity (the story alone, as
    fast as CI's run): the address and a user per section and the COJC are printed, a demo
    user signs in and sees their section's cases, and Ctrl-C ends it all with the story's
    status, 0."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    code = (
        "import sys; from fieldcourt.demo import DemoOptions, run_demo; "
        "from fieldcourt.settings import load_settings; "
        "sys.exit(run_demo(load_settings(), DemoOptions(rate=0.0, dashboard=True)))"
    )
    env = demo_env(tmp_path) | {"FIELDCOURT_DASHBOARD_PORT": str(free_port())}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 200
        while not any("the dashboard stays up at" in line for line in lines):
            assert proc.poll() is None, "".join(lines)[-4000:]
            assert time.monotonic() < deadline, "".join(lines)[-4000:]
            time.sleep(0.1)
        out = "".join(lines)
        found = re.search(r"the dashboard stays up at (http://\S+/)", out)
        assert found, out
        url = found.group(1)
        users = dict(re.findall(r"^\s+(\w+-demo)\s+(\S+)\s+\S", out, re.MULTILINE))
        assert set(users) == {"p12-demo", "p20-demo", "f3-demo", "p4-demo", "cojc-demo"}

        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with browser.open(url + "login", timeout=10) as page:
            token = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
        assert token
        form = {"csrf": token.group(1), "name": "p20-demo", "password": users["p20-demo"]}
        with browser.open(url + "login", urllib.parse.urlencode(form).encode(), timeout=10) as page:
            home = page.read().decode()
        assert "P20 (preliminary inquiries): cases" in home
        assert 'data-case="C-' in home  # the story's P20 cases
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=90)
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    out = "".join(lines)
    assert status == 0, out[-4000:]
    assert "dashboard stopped" in out
    assert "kafka stopped" in out
    assert "interrupted" not in out
    assert processes_mentioning(tmp_path) == []
