"""Which partitions the consumer reads again: records read, neither processed nor acked."""

from __future__ import annotations

from faust.types import TP

from agents.transport import skipped_partitions

A, B, C, D, E = (TP("field.arrests.v1", n) for n in range(5))


def test_records_read_past_the_commit_and_never_acked_are_skipped() -> None:
    read = {A: 4, B: 7, C: 0, D: 2, E: None}
    committed = {A: 5, B: 7, C: None, D: 2}
    acked = {D: [2]}  # processed, waiting for the next commit
    found = skipped_partitions(read, committed, acked, [A, B, C, D, E], busy=set())
    # A: everything read is committed; D: acked; E: nothing read yet
    assert found == {B: (7, 7), C: (0, None)}


def test_records_queued_or_being_processed_are_not_skipped() -> None:
    """Under load an agent's queue holds records read long ago: those are not skipped."""
    read, committed = {A: 526, B: 706}, {A: 470, B: 657}
    assert skipped_partitions(read, committed, {}, [A, B], busy={A}) == {B: (706, 657)}
    assert skipped_partitions(read, committed, {}, [A, B], busy={A, B}) == {}


def test_only_the_given_partitions_are_looked_at() -> None:
    assert skipped_partitions({A: 3}, {}, {}, [B], busy=set()) == {}
