"""`fieldcourt demo --quick` as CI runs it: exit code, summary, and nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldcourt.kafka_local import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment mentions ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(proc.name))
    return found


def test_quick_demo_tells_the_story_and_leaves_no_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_")}
    env.update(
        FIELDCOURT_DATA_DIR=str(tmp_path),
        FIELDCOURT_KAFKA_PORT=str(free_port()),
        FIELDCOURT_KAFKA_CONTROLLER_PORT=str(free_port()),
        FIELDCOURT_SESSION_TIMEOUT_S="8",
        COLUMNS="120",
    )
    result = subprocess.run(
        [sys.executable, "-m", "fieldcourt.cli", "demo", "--quick"],
        env=env, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-2000:]
    assert "demo finished" in out
    summary = out[out.index("summary") :]
    assert "dead-lettered" in summary
    assert "alerts: trade_migration" in summary
    assert "kafka stopped" in out
    assert processes_mentioning(str(tmp_path)) == []
