"""Sector geofence (SPEC 5): which named polygon, if any, an event's position falls in.

Sectors come from a GeoJSON FeatureCollection of Polygon/MultiPolygon features, each named by
``properties.name``. Lookups go through an STRtree, so their cost grows with the logarithm of the
number of sectors, not with the number itself.

Overlaps resolve deterministically: the smallest sector (by planar area in degrees) wins, then the
name in code-point order. The most specific zone is usually the one a COJC was set up for.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

_GEOMETRY_TYPES = frozenset({"Polygon", "MultiPolygon"})


#: A sector name: a Kafka key, a metric label and part of state keys (``name|hour``).
SECTOR_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class Sector:
    """One named polygon; ``geometry`` is a shapely Polygon or MultiPolygon in [lon, lat]."""

    name: str
    geometry: Any

    @property
    def area(self) -> float:
        return float(self.geometry.area)


class SectorIndex:
    """Point-in-sector lookups over a fixed set of sectors; immutable once built."""

    def __init__(self, sectors: Iterable[Sector]) -> None:
        ranked = sorted(sectors, key=lambda s: (s.area, s.name))
        duplicates = sorted(n for n, c in Counter(s.name for s in ranked).items() if c > 1)
        if duplicates:
            raise ValueError(f"duplicate sector names: {', '.join(duplicates)}")
        self._sectors = tuple(ranked)
        self._geometries = [s.geometry for s in ranked]
        for geometry in self._geometries:
            shapely.prepare(geometry)
        # Each sector's bounding box, in rank order: the first covering sector wins an overlap.
        # A scan of a few boxes in Python and one prepared point test cost 0.7 µs an event,
        # where building a point and querying an STRtree cost 10 µs; an office has a handful
        # to tens of sectors (a thousand boxes would take about what the tree did).
        self._boxes: list[tuple[float, float, float, float, int]] = []
        for index, geometry in enumerate(self._geometries):
            west, south, east, north = map(float, geometry.bounds)
            self._boxes.append((west, south, east, north, index))
        self._bounds = (
            min((box[0] for box in self._boxes), default=math.inf),
            min((box[1] for box in self._boxes), default=math.inf),
            max((box[2] for box in self._boxes), default=-math.inf),
            max((box[3] for box in self._boxes), default=-math.inf),
        )

    @classmethod
    def from_geojson(cls, document: object) -> SectorIndex:
        """Build from a parsed GeoJSON FeatureCollection; ``ValueError`` says what is wrong."""
        if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
            raise ValueError("sectors must be a GeoJSON FeatureCollection")
        features = document.get("features")
        if not isinstance(features, list):
            raise ValueError("FeatureCollection.features must be a list")
        return cls(_parse_feature(i, feature) for i, feature in enumerate(features))

    @classmethod
    def from_file(cls, path: Path | str) -> SectorIndex:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read sectors file {path}: {exc}") from exc
        try:
            return cls.from_geojson(document)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def sectors(self) -> tuple[Sector, ...]:
        """In overlap priority: smallest area first, then name."""
        return self._sectors

    @property
    def names(self) -> tuple[str, ...]:
        """Sector names, sorted."""
        return tuple(sorted(s.name for s in self._sectors))

    def __len__(self) -> int:
        return len(self._sectors)

    def sector_of(self, lat: float, lon: float) -> str | None:
        """The sector covering the point (boundary included), or ``None`` outside all of them."""
        west, south, east, north = self._bounds
        if not (west <= lon <= east and south <= lat <= north):
            return None  # most events fall outside every sector: skip the scan
        for west, south, east, north, index in self._boxes:
            # for a point, intersecting a polygon is being covered by it (boundary included)
            if (
                west <= lon <= east
                and south <= lat <= north
                and shapely.intersects_xy(self._geometries[index], lon, lat)
            ):
                return self._sectors[index].name
        return None


def _parse_feature(index: int, feature: object) -> Sector:
    where = f"feature {index}"
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise ValueError(f"{where}: not a GeoJSON Feature")
    properties = feature.get("properties")
    name = properties.get("name") if isinstance(properties, Mapping) else None
    if not isinstance(name, str) or not SECTOR_NAME.fullmatch(name):
        raise ValueError(
            f"{where}: properties.name must be a sector name: lower-case letters, digits and "
            "hyphens, at most 64 (it is a Kafka key, a metric label and part of state keys)"
        )
    where = f"{where} ({name!r})"
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping) or geometry.get("type") not in _GEOMETRY_TYPES:
        raise ValueError(f"{where}: geometry must be a Polygon or MultiPolygon")
    try:
        polygon = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValueError(f"{where}: malformed coordinates: {exc}") from exc
    if polygon.is_empty:
        raise ValueError(f"{where}: empty geometry")
    if not polygon.is_valid:
        raise ValueError(f"{where}: invalid polygon: {shapely.is_valid_reason(polygon)}")
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if not all(math.isfinite(v) for v in polygon.bounds) or not (
        -180.0 <= min_lon <= max_lon <= 180.0 and -90.0 <= min_lat <= max_lat <= 90.0
    ):
        raise ValueError(f"{where}: coordinates outside WGS84 [lon, lat] range")
    return Sector(name=name, geometry=polygon)


def default_sectors_path() -> Path:
    """The SPEC 5 defaults shipped with the package."""
    return Path(str(resources.files("fieldcourt").joinpath("data", "sectors.geojson")))


def load_sectors(path: Path | str | None = None) -> SectorIndex:
    """Sectors from ``path`` (e.g. ``Settings.sectors_file``), or the shipped defaults."""
    return SectorIndex.from_file(default_sectors_path() if path is None else path)
