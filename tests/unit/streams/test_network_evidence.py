"""A network's evidence folded as it grows, against a fold of all of it at once."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from streams.network_evidence import NOTHING, EvidenceMemo, fold
from streams.state._links import Linked

IDS = [f"e{n}" for n in range(12)]
RECORDS = st.fixed_dictionaries(
    {
        eid: st.builds(
            Linked,
            at=st.integers(0, 10**9),
            roles=st.dictionaries(
                st.sampled_from(["S-1", "S-2", "S-3", "S-4"]),
                st.sampled_from(["seller", "buyer", "facilitator"]),
                max_size=3,
            ),
            address=st.sampled_from([None, "A-1", "A-2"]),
            procedure=st.sampled_from([None, "P-1", "P-2"]),
            matches=st.just([]),
        )
        for eid in IDS
    }
)
GROWTH = st.lists(st.frozensets(st.sampled_from(IDS), min_size=1), min_size=1, max_size=6)


@given(RECORDS, GROWTH)
def test_a_growing_network_folds_as_if_from_scratch(
    records: dict[str, Linked], steps: list[frozenset[str]]
) -> None:
    memo, read = EvidenceMemo(), records.get
    events: frozenset[str] = frozenset()
    for step in steps:
        events = events | step if len(step) % 2 else step  # grows, or is another component
        assert memo.of("N-1", events, 0, read) == fold(NOTHING, sorted(events), read)


def test_an_erasure_makes_the_next_fold_read_the_records_again() -> None:
    records: dict[str, Any] = {
        "e1": Linked(1, {"S-1": "seller", "S-2": "buyer"}, None, None, []),
        "e2": Linked(2, {"S-2": "buyer"}, "A-1", "P-1", []),
    }
    memo = EvidenceMemo()
    before = memo.of("N-1", frozenset(records), 0, records.get)
    assert before.roles == {"S-1": frozenset({"seller"}), "S-2": frozenset({"buyer"})}
    records["e1"] = Linked(1, {"S-2": "buyer"}, None, None, [])  # S-1 erased
    assert memo.of("N-1", frozenset(records), 0, records.get) is before  # nothing told it
    after = memo.of("N-1", frozenset(records), 1, records.get)
    assert after.roles == {"S-2": frozenset({"buyer"})}
    assert (after.first, after.last, after.addresses, after.procedures) == (
        1,
        2,
        frozenset({"A-1"}),
        frozenset({"P-1"}),
    )
