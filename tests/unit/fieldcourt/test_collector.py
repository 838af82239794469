"""The worker's collector policy: no full pass but those it asks for."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fieldcourt.collector import NEVER, defer_full_passes, full_pass


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_young_generations_keep_their_thresholds_and_full_passes_wait(
    thresholds: tuple[int, int, int],
) -> None:
    defer_full_passes()
    assert gc.get_threshold() == (thresholds[0], thresholds[1], NEVER)


def test_python_starts_no_full_pass_once_deferred(thresholds: tuple[int, int, int]) -> None:
    defer_full_passes()
    full_pass()
    before = gc.get_stats()[2]["collections"]
    # Python would start a full pass once the survivors of young passes outgrow a quarter of
    # what the last one left: these lists would take it there
    many = len(gc.get_objects()) // 2 + 100_000
    kept = [[i] for i in range(many)]
    assert gc.get_stats()[2]["collections"] == before
    assert len(kept) == many


def test_a_full_pass_frees_reference_cycles_and_says_how_long_it_took(
    thresholds: tuple[int, int, int],
) -> None:
    defer_full_passes()
    full_pass()
    for _ in range(100):
        cycle: list[object] = []
        cycle.append(cycle)
    del cycle
    freed, seconds = full_pass()
    assert freed >= 100
    assert seconds > 0
