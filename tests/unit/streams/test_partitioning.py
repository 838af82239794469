import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.eventtime import Progress
from streams.partitioning import PartitionView, murmur2, partition_of, routing_key
from streams.pipeline import Pipeline
from streams.state import SubjectState
from tests.unit.streams.rules.builders import arrest, at, ref


def test_partition_of_matches_kafkas_default_partitioner() -> None:
    # values of the Java client's murmur2 partitioner (Utils.toPositive(murmur2(key)) % n)
    from aiokafka.partitioner import DefaultPartitioner

    for key in ("S-AAAAAAAAAAAAAAAA", "les-halles", "e-1", "12 RUE CURIAL PARIS 75019"):
        expected = DefaultPartitioner()(key.encode(), list(range(4)), list(range(4)))
        assert partition_of(key, 4) == expected


def test_view_lists_only_its_partitions_keys_and_never_reserved_ones() -> None:
    store = {f"S-{i}|x": i for i in range(40)} | {"__wm__:0": 1, "__wm__:1": 2}
    views = [PartitionView(store, p, 4) for p in range(4)]
    listed = [key for view in views for key in view]
    assert sorted(listed) == sorted(k for k in store if not k.startswith("__"))
    for p, view in enumerate(views):
        assert all(partition_of(routing_key(k), 4) == p for k in view)
    assert routing_key("les-halles|123") == "les-halles"


def test_a_stage_purges_only_its_partition_and_only_past_retention() -> None:
    pipeline = Pipeline()
    subject = pipeline.subject
    old, recent = ref(1), ref(2)
    for event in (arrest(1, at(0)), arrest(2, at(200))):
        key = event.subjects[0].ref
        progress = Progress("field.arrests.v1:0", event.occurred_at)
        subject.process(key, event, 0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), progress)
    store = pipeline.stores["subject"]
    assert old in store
    mine = partition_of(old, 4)
    elsewhere = (mine + 1) % 4
    # the progress heard is partition 0's (the pipeline reads one partition); the view
    # decides keys
    assert subject.purge(0, lambda s: PartitionView(s, elsewhere, 4)) == 0
    assert old in store
    assert subject.purge(0, lambda s: PartitionView(s, mine, 4)) == 1
    assert old not in store
    assert recent in store
    assert SubjectState(store).events(recent, at(199), at(201))


@settings(max_examples=500)
@given(data=st.binary(max_size=64))
def test_our_murmur2_is_the_kafka_clients(data: bytes) -> None:
    """The producer (aiokafka, like the Java client) and our partition_of must agree."""
    from aiokafka.partitioner import murmur2 as clients

    assert murmur2(data) == clients(data)
