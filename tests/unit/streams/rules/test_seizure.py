"""f3.seizure: thresholds and the anchor of each case."""

from __future__ import annotations

from typing import Any

import pytest

from streams.rules import RulesConfig, seizure
from tests.unit.streams.rules.builders import at, ref
from tests.unit.streams.rules.builders import seizure as seized

PARAMS = RulesConfig().rules.seizure


@pytest.mark.parametrize(
    ("fields", "fires"),
    [
        ({"quantity_g": 49.9}, False),
        ({"quantity_g": 50.0}, True),
        ({"quantity_g": 50.0, "substance": "cocaine"}, True),
        ({"quantity_g": 50.0, "substance": "heroin"}, True),
        ({"quantity_g": 5000.0, "substance": "cannabis"}, False),
        ({"cash_eur": 4999.0}, False),
        ({"cash_eur": 5000.0}, True),
        ({"cash_eur": 5000.0, "substance": "cannabis"}, True),
        ({"weapons": 0}, False),
        ({"weapons": 1, "substance": "other"}, True),
    ],
)
def test_thresholds(fields: dict[str, Any], fires: bool) -> None:
    assert bool(seizure(seized(at(0), persons=(1,), **fields), PARAMS)) is fires


def test_one_f3_case_per_person_on_the_seizure() -> None:
    e = seized(at(0), persons=(2, 1), quantity_g=62, cash_eur=5200, weapons=2, minor=True)
    found = seizure(e, PARAMS)
    assert [(m.section, m.anchor_kind, m.anchor_ref) for m in found] == [
        ("F3", "subject", r) for r in sorted((ref(1), ref(2)))
    ]
    assert all(m.minor and m.evidence == (e.event_id,) for m in found)
    assert [s.ref for s in found[0].subjects] == [found[0].anchor_ref]
    assert found[0].reason == (
        f"Seizure of 62 g of crack, 5,200 EUR, 2 weapons from {found[0].anchor_ref} "
        "on 2025-09-09 in les-halles."
    )


@pytest.mark.parametrize(
    ("fields", "anchor"),
    [
        ({"operation": "OP-19", "address": "5 RUE Y"}, ("operation", "OP-19")),
        ({"address": "5 RUE Y"}, ("address", "5 RUE Y")),
        ({"event_id": "E-lone"}, ("operation", "event:E-lone")),
    ],
)
def test_without_a_person_one_case_on_operation_address_or_event(
    fields: dict[str, Any], anchor: tuple[str, str]
) -> None:
    [m] = seizure(seized(at(0), weapons=1, sector=None, **fields), PARAMS)
    assert (m.anchor_kind, m.anchor_ref, m.subjects, m.minor) == (*anchor, (), False)
    assert m.reason == "Seizure of 1 weapon on 2025-09-09 outside any sector."
