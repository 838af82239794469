"""What the end-to-end stages read of a worker's process group in /proc: its CPU time."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.processes import cpu_of_group
from benchmarks.report import figures

#: Burns 0.3 s of its own CPU time, says so, then waits to be killed.
BURN = """
import sys, time
while time.process_time() < 0.3:
    pass
print("burnt", flush=True)
time.sleep(60)
"""


def test_the_cpu_of_a_process_group_is_what_its_processes_spent() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", BURN], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"burnt\n"
        spent = cpu_of_group(child.pid)
        assert 0.29 <= spent < 5.0
        assert cpu_of_group(child.pid + 10_000_000) == 0.0  # no such group
    finally:
        child.kill()
        child.communicate()


def test_the_report_shows_cpu_and_records_per_event_of_each_end_to_end_run() -> None:
    arrests = {"events": 5_000, "eps": 250.0, "worker_cpu_ms_per_event": 2.7}
    arrests["records_written_per_event"] = 10.6
    rows = {f.key: f for f in figures({"fieldcourt_arrests": arrests}, [])}
    assert rows["worker_cpu_ms_per_event_arrests"].value == 2.7
    assert rows["records_written_per_event_arrests"].value == 10.6
    assert rows["worker_cpu_ms_per_event_mixed"].value is None
