import datetime as dt

from streams.dedupe import Decision, Deduplicator

T = dt.datetime(2025, 9, 19, 10, tzinfo=dt.UTC)


def test_first_duplicate_conflict_and_replay() -> None:
    store: dict[str, object] = {}
    dedupe = Deduplicator(store)
    first = ("field.arrests.v1", 0, 10)
    assert dedupe.admit("e1", "fp1", first, T).decision is Decision.FIRST
    assert dedupe.admit("e1", "fp1", ("field.arrests.v1", 0, 11), T).decision is Decision.DUPLICATE
    assert dedupe.admit("e1", "fp2", ("field.arrests.v1", 0, 12), T).decision is Decision.CONFLICT
    # the very record read again after a crash is forwarded again, not dropped
    assert dedupe.admit("e1", "fp1", first, T).decision is Decision.REPLAY
    assert dedupe.admit("e2", "fp1", ("field.arrests.v1", 0, 13), T).decision is Decision.FIRST


def test_state_is_json_and_survives_a_rebuild_from_a_copy() -> None:
    import orjson

    store: dict[str, object] = {}
    Deduplicator(store).admit("e1", "fp1", ("t", 1, 2), T)
    copy = orjson.loads(orjson.dumps(store))
    assert Deduplicator(copy).admit("e1", "fp1", ("t", 1, 3), T).decision is Decision.DUPLICATE
    assert Deduplicator(copy).admit("e1", "fp1", ("t", 1, 2), T).decision is Decision.REPLAY


def test_sweep_forgets_old_ids_only() -> None:
    store: dict[str, object] = {}
    dedupe = Deduplicator(store)
    dedupe.admit("old", "fp", ("t", 0, 1), T - dt.timedelta(days=200))
    dedupe.admit("new", "fp", ("t", 0, 2), T)
    assert dedupe.sweep(T - dt.timedelta(days=120)) == 1
    assert set(store) == {"new"}
