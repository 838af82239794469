from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streams.geofence import SectorIndex, default_sectors_path, load_sectors


def rect(name: str, west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def grid(count: int) -> SectorIndex:
    """``count`` adjacent 0.01° squares, 20 per row, starting at (2.20, 48.80)."""
    return SectorIndex.from_geojson(
        collection(
            *(
                rect(
                    f"g{i:03d}",
                    2.2 + (i % 20) * 0.01,
                    48.8 + (i // 20) * 0.01,
                    2.2 + (i % 20 + 1) * 0.01,
                    48.8 + (i // 20 + 1) * 0.01,
                )
                for i in range(count)
            )
        )
    )


@pytest.fixture(scope="module")
def defaults() -> SectorIndex:
    return load_sectors()


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (48.8620, 2.3460, "les-halles"),
        (48.8970, 2.3720, "rosa-parks"),
        (48.8845, 2.3690, "stalingrad"),
        (48.8400, 2.2900, None),  # south-west Paris
        (48.8594, 2.3460, None),  # just south of les-halles
        (48.8620, 2.3521, None),  # just east of les-halles
        (2.3460, 48.8620, None),  # lat and lon swapped
    ],
)
def test_default_sectors(
    defaults: SectorIndex, lat: float, lon: float, expected: str | None
) -> None:
    assert defaults.sector_of(lat, lon) == expected


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (48.8595, 2.3460),  # south edge
        (48.8650, 2.3460),  # north edge
        (48.8620, 2.3410),  # west edge
        (48.8620, 2.3520),  # east edge
        (48.8595, 2.3410),  # south-west corner
        (48.8650, 2.3520),  # north-east corner
    ],
)
def test_boundary_counts_as_inside(defaults: SectorIndex, lat: float, lon: float) -> None:
    assert defaults.sector_of(lat, lon) == "les-halles"


def test_defaults_are_the_spec_sectors(defaults: SectorIndex) -> None:
    assert default_sectors_path().is_file()
    assert defaults.names == ("les-halles", "rosa-parks", "stalingrad")
    assert len(defaults) == 3


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "sectors.geojson"
    path.write_text(json.dumps(collection(rect("only", 0, 0, 1, 1))))
    assert load_sectors(path).sector_of(0.5, 0.5) == "only"
    assert load_sectors(str(path)).names == ("only",)


def test_multipolygon() -> None:
    feature = rect("two-blocks", 0, 0, 1, 1)
    feature["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [
            feature["geometry"]["coordinates"],
            rect("x", 5, 5, 6, 6)["geometry"]["coordinates"],
        ],
    }
    index = SectorIndex.from_geojson(collection(feature))
    assert index.sector_of(0.5, 0.5) == "two-blocks"
    assert index.sector_of(5.5, 5.5) == "two-blocks"
    assert index.sector_of(3, 3) is None


def test_polygon_with_hole() -> None:
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    feature = {
        "type": "Feature",
        "properties": {"name": "ring"},
        "geometry": {"type": "Polygon", "coordinates": [outer, hole]},
    }
    index = SectorIndex.from_geojson(collection(feature))
    assert index.sector_of(0.5, 0.5) == "ring"
    assert index.sector_of(2, 2) is None
    assert index.sector_of(1, 2) == "ring"  # the hole's edge belongs to the polygon


def test_overlap_smallest_area_wins() -> None:
    index = SectorIndex.from_geojson(
        collection(rect("big", 0, 0, 10, 10), rect("small", 2, 2, 4, 4))
    )
    assert index.sector_of(3, 3) == "small"
    assert index.sector_of(8, 8) == "big"


def test_overlap_equal_area_name_wins_whatever_the_file_order() -> None:
    a, b = rect("beta", 0, 0, 2, 2), rect("alpha", 1, 1, 3, 3)
    for features in ((a, b), (b, a)):
        index = SectorIndex.from_geojson(collection(*features))
        assert index.sector_of(1.5, 1.5) == "alpha"


def test_shared_edge_is_resolved_deterministically() -> None:
    index = SectorIndex.from_geojson(collection(rect("west", 0, 0, 1, 1), rect("east", 1, 0, 2, 1)))
    assert index.sector_of(0.5, 1.0) == "east"  # same area: the name decides


def test_two_hundred_sectors() -> None:
    index = grid(200)
    assert len(index) == 200
    for i in (0, 19, 20, 137, 199):
        lon = 2.2 + (i % 20) * 0.01 + 0.005
        lat = 48.8 + (i // 20) * 0.01 + 0.005
        assert index.sector_of(lat, lon) == f"g{i:03d}"
    assert index.sector_of(48.79, 2.25) is None
    assert index.sector_of(48.95, 2.25) is None


def test_many_sectors_answer_as_few_do() -> None:
    """Adding sectors elsewhere changes no answer; how fast the index answers is
    ``benchmarks/bench_enrich.py``'s business."""
    # Inside the first three squares, so both indexes take the full path to an answer.
    points = [(48.8 + (i % 7 + 1) * 0.001, 2.2 + (i % 3) * 0.01 + 0.005) for i in range(2000)]
    few, many = grid(3), grid(200)
    assert [few.sector_of(*p) for p in points] == [many.sector_of(*p) for p in points]
    assert {few.sector_of(*p) for p in points} == {"g000", "g001", "g002"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "FeatureCollection"),
        ({"type": "Feature"}, "FeatureCollection"),
        ({"type": "FeatureCollection"}, "features must be a list"),
        (collection({"type": "Point"}), "feature 0: not a GeoJSON Feature"),
        (collection({**rect("x", 0, 0, 1, 1), "properties": {}}), "properties.name"),
        (collection({**rect("x", 0, 0, 1, 1), "properties": None}), "properties.name"),
        (collection({**rect("x", 0, 0, 1, 1), "properties": {"name": " "}}), "properties.name"),
        (collection({**rect("x", 0, 0, 1, 1), "properties": {"name": 7}}), "properties.name"),
        (collection(rect("a|b", 0, 0, 1, 1)), "properties.name must be a sector name"),
        (collection(rect("Les Halles", 0, 0, 1, 1)), "properties.name must be a sector name"),
        (
            collection(rect("a", 0, 0, 1, 1), rect("b", 2, 2, 3, 3), rect("a", 4, 4, 5, 5)),
            "duplicate sector names: a",
        ),
        (
            collection(
                {**rect("x", 0, 0, 1, 1), "geometry": {"type": "Point", "coordinates": [0, 0]}}
            ),
            "Polygon or MultiPolygon",
        ),
        (collection({**rect("x", 0, 0, 1, 1), "geometry": None}), "Polygon or MultiPolygon"),
        (
            collection(
                {
                    **rect("bowtie", 0, 0, 1, 1),
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                    },
                }
            ),
            "feature 0 ('bowtie'): invalid polygon: Self-intersection",
        ),
        (
            collection(
                {
                    **rect("x", 0, 0, 1, 1),
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
                }
            ),
            "malformed coordinates",
        ),
        (
            collection(
                {**rect("x", 0, 0, 1, 1), "geometry": {"type": "Polygon", "coordinates": []}}
            ),
            "empty geometry",
        ),
        (collection(rect("x", 179, 0, 181, 1)), "outside WGS84"),
    ],
)
def test_bad_documents(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SectorIndex.from_geojson(document)


def test_bad_files(tmp_path: Path) -> None:
    not_json = tmp_path / "broken.geojson"
    not_json.write_text("{not json")
    with pytest.raises(ValueError, match=r"cannot read sectors file .*broken\.geojson"):
        load_sectors(not_json)
    with pytest.raises(ValueError, match="cannot read sectors file"):
        load_sectors(tmp_path / "missing.geojson")
    no_name = tmp_path / "no-name.geojson"
    no_name.write_text(json.dumps(collection({**rect("x", 0, 0, 1, 1), "properties": {}})))
    with pytest.raises(ValueError, match=r"no-name\.geojson: feature 0: properties\.name"):
        load_sectors(no_name)


def test_empty_collection_has_no_sector() -> None:
    index = SectorIndex.from_geojson(collection())
    assert len(index) == 0
    assert index.sector_of(48.862, 2.346) is None
