"""The table-read benchmark runs on a real RocksDB store and prints each figure (no timing is
asserted)."""

from __future__ import annotations

import re

import pytest

from benchmarks.bench_table_reads import main


def test_it_prints_both_paths_for_each_read_and_encoding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--keys", "50"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("50 keys in RocksDB")
    figures = {
        found[1]: (float(found[2]), float(found[3]))
        for line in lines[1:]
        if (found := re.fullmatch(r"\s+(\S.*?)\s+([\d.]+) /\s+([\d.]+)", line))
    }
    assert set(figures) == {
        "read, absent key",
        "read, present key",
        "key encoded",
        "value encoded",
        "key written",
    }
    assert all(faust > 0 and ours > 0 for faust, ours in figures.values())
