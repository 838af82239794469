"""The crash plan: parsed once, refused in production, inert unless its point is reached."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fieldcourt.faults import CRASH_EXIT, CrashPlan, CrashPoint, Faults
from fieldcourt.settings import SettingsError, load_settings


def test_a_plan_names_a_point_and_an_occurrence() -> None:
    assert CrashPlan.parse("rebalance") == CrashPlan(CrashPoint.REBALANCE, 1)
    assert CrashPlan.parse("after-outputs:25") == CrashPlan(CrashPoint.AFTER_OUTPUTS, 25)


@pytest.mark.parametrize(
    ("text", "message"),
    [("nowhere", "unknown crash point"), ("rebalance:0", ">= 1"), ("rebalance:x", ">= 1")],
)
def test_a_wrong_plan_is_refused_at_start(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(crash_at=text)


def test_production_refuses_any_plan() -> None:
    with pytest.raises(SettingsError, match="refused in production"):
        load_settings(crash_at="rebalance", environment="production", pseudonym_key="k" * 40)


def test_without_a_plan_no_point_does_anything() -> None:
    faults = Faults()
    for point in CrashPoint:
        faults.reached(point)


def test_the_process_exits_the_nth_time_its_point_is_reached() -> None:
    """In a child process: ``os._exit`` is the point, so it cannot run in this one."""
    script = (
        "from fieldcourt.faults import CrashPlan, CrashPoint, Faults\n"
        "f = Faults(CrashPlan.parse('changelog-unacked:3'))\n"
        "for n in range(1, 6):\n"
        "    f.reached(CrashPoint.AFTER_OUTPUTS)\n"
        "    print(n, flush=True)\n"
        "    f.reached(CrashPoint.CHANGELOG_UNACKED)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == CRASH_EXIT
    assert done.stdout.split() == [b"1", b"2", b"3"]
    assert b"crash injected at changelog-unacked (occurrence 3)" in done.stderr
