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


def test_every_error_fieldcourt_raises_descends_from_one_root_with_its_exit_status() -> None:
    from agents.transport import FaustInternalsMissing
    from fieldcourt.cli import ConfigError
    from fieldcourt.kafka_local import BrokerError
    from fieldcourt.settings import SettingsError
    from fieldcourt.topics import TopicError
    from streams.errors import ConfigurationError, FieldcourtError
    from streams.rules import RulesConfigError

    statuses = {
        cls: cls.exit_status
        for cls in (
            ConfigError,
            SettingsError,
            RulesConfigError,
            BrokerError,
            TopicError,
            FaustInternalsMissing,
        )
    }
    assert all(issubclass(cls, FieldcourtError) for cls in statuses)
    assert {cls for cls in statuses if issubclass(cls, ConfigurationError)} == {
        ConfigError,
        SettingsError,
        RulesConfigError,
    }
    assert statuses == {
        ConfigError: 2,
        SettingsError: 2,
        RulesConfigError: 2,
        BrokerError: 1,
        TopicError: 1,
        FaustInternalsMissing: 70,
    }


def test_a_rejection_is_a_value_not_an_exception() -> None:
    from streams.errors import Reason, RejectedInput

    rejected = RejectedInput(Reason.INVALID_JSON, "x" * 5000)
    assert not isinstance(rejected, BaseException)
    assert len(rejected.detail) == RejectedInput.MAX_DETAIL
    assert str(rejected).startswith("invalid_json: xxx")
