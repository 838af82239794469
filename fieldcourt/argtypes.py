"""Argument types of the command line: each turns a string into a value or explains why not."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable


def instant(value: str) -> dt.datetime:
    """``now``, a date (midnight in Paris) or an RFC 3339 timestamp with its offset."""
    from fieldcourt.simulate import PARIS

    if value == "now":
        return dt.datetime.now(dt.UTC)
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=PARIS)
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or timestamp: {value!r}") from exc
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"give the offset (Z, +02:00...): {value!r}")
    return moment


def positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(value: str) -> float:
        number = kind(value)
        if not number > 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {value}")
        return number

    return parse


def purpose(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("a procedure number or a short reason, not blank")
    return value.strip()
