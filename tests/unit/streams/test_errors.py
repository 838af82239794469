"""A bug's description names its type and place, never its message (which may quote a name)."""

from __future__ import annotations

import pytest

from streams.errors import describe_failure, failure_trace

#: A synthetic name; the traced code lines quote the variable, not its value.
NAME = "Zorvanek"


def _enrich_a_name(name: str) -> None:
    raise ValueError(f"cannot fold {name}")


def test_a_failure_is_described_by_type_and_place_without_its_message() -> None:
    with pytest.raises(ValueError) as caught:
        _enrich_a_name(NAME)
    description = describe_failure(caught.value)
    trace = failure_trace(caught.value)
    assert description.startswith("ValueError at test_errors.py:")
    assert description.endswith(" in _enrich_a_name")
    assert "_enrich_a_name" in trace
    assert "raise ValueError" in trace  # the code line, for the developer
    assert NAME not in description + trace


def test_an_exception_never_raised_has_no_place() -> None:
    assert describe_failure(KeyError(NAME)) == "KeyError"
    assert failure_trace(KeyError(NAME)) == ""
