"""The Faust peers are built as described, without a broker (they run only in ``make bench``),
and the raw loop peer runs the same hops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks import raw_hops
from benchmarks.faust_peer import build
from benchmarks.hops import CHAIN, HOPS, SKELETON, Spread, outputs_for, records_per_event


@pytest.mark.parametrize("variant", ["chain", "skeleton"])
def test_the_chain_takes_three_hops_with_a_table_each_the_last_on_one_partition(
    tmp_path: Path, variant: str
) -> None:
    app = build(variant, "127.0.0.1:9", "peer", str(tmp_path), "out", ["in.a", "in.b"])
    hops = {name.rsplit(".", 1)[-1]: agent for name, agent in app.agents.items()}
    assert sorted(hops) == ["hop0", "hop1", "hop2"]
    channels = {name: tuple(agent.channel.topics) for name, agent in hops.items()}
    assert channels == {"hop0": ("in.a", "in.b"), "hop1": ("peer-keyed",), "hop2": ("peer-one",)}
    tables = {name.split("-")[-1]: table for name, table in app.tables.items()}
    assert sorted(tables) == ["hop0", "hop1", "hop2"]
    assert [tables[f"hop{i}"].partitions for i in range(3)] == [4, 4, 1]
    assert app.conf.store.scheme == "rocksdb"


def test_an_unknown_variant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="default, tuned, chain, skeleton"):
        build("fast", "127.0.0.1:9", "peer", str(tmp_path), "out", ["in"])


def test_the_chain_writes_six_records_an_event_and_the_skeleton_fieldcourts_eight() -> None:
    assert records_per_event(CHAIN) == 6
    assert records_per_event(SKELETON) == pytest.approx(8.11, abs=0.01)


@pytest.mark.parametrize("rate", [0.227, 1.0, 1.65, 3.093])
def test_a_spread_gives_whole_counts_that_keep_to_its_rate(rate: float) -> None:
    spread = Spread(rate)
    counts = [spread.take() for _ in range(1000)]
    assert set(counts) <= {int(rate), int(rate) + 1}
    assert abs(sum(counts) - 1000 * rate) <= 1  # what is owed, less than one, or rounding


def test_the_raw_loop_peer_knows_the_faust_peers_hops_and_refuses_others(tmp_path: Path) -> None:
    assert HOPS == {"chain": CHAIN, "skeleton": SKELETON}
    with pytest.raises(SystemExit, match="chain, skeleton"):
        asyncio.run(raw_hops.run("fast", "127.0.0.1:9", "peer", str(tmp_path), "out", ["in"]))


def test_a_peer_that_lost_nothing_writes_one_output_a_chain_event_and_the_skeletons_share() -> None:
    assert outputs_for(CHAIN, 100_000) == 100_000
    # 1.68 records an event to the stages, 0.375 matches, 1.16 case events and audit records
    assert outputs_for(SKELETON, 100_000) == pytest.approx(116_000, abs=5)  # a whole, each hop
