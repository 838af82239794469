"""The sectors file drawn as an SVG: no tiles, no internet, only the polygons COJCs work on.

Longitude and latitude are projected equirectangularly around the sectors' middle latitude
(good enough at the scale of a city) and fitted into a fixed view box with a margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.geofence import SectorIndex

WIDTH = 640.0
MARGIN = 60.0


@dataclass(frozen=True)
class SectorShape:
    name: str
    path: str  # SVG path data
    x: float  # where its alert count goes
    y: float
    top: float  # the top of its bounding box: its label goes just above


@dataclass(frozen=True)
class SectorMap:
    width: float
    height: float
    sectors: tuple[SectorShape, ...]

    def at(self, name: str) -> SectorShape | None:
        return next((s for s in self.sectors if s.name == name), None)


def _rings(geometry: object) -> list[list[tuple[float, float]]]:
    polygons = getattr(geometry, "geoms", [geometry])
    rings = []
    for polygon in polygons:
        rings.append(list(polygon.exterior.coords))
        rings.extend(list(hole.coords) for hole in polygon.interiors)
    return rings


def draw(index: SectorIndex) -> SectorMap:
    if not len(index):
        return SectorMap(WIDTH, WIDTH / 2, ())
    west = min(s.geometry.bounds[0] for s in index.sectors)
    south = min(s.geometry.bounds[1] for s in index.sectors)
    east = max(s.geometry.bounds[2] for s in index.sectors)
    north = max(s.geometry.bounds[3] for s in index.sectors)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * squeeze, 1e-9)
    span_y = max(north - south, 1e-9)
    scale = (WIDTH - 2 * MARGIN) / max(span_x, span_y * 1.5)
    height = span_y * scale + 2 * MARGIN

    def point(lon: float, lat: float) -> tuple[float, float]:
        return MARGIN + (lon - west) * squeeze * scale, MARGIN + (north - lat) * scale

    shapes = []
    for sector in sorted(index.sectors, key=lambda s: s.name):
        parts = []
        for ring in _rings(sector.geometry):
            xy = [point(lon, lat) for lon, lat in ring]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + " Z")
        spot = sector.geometry.representative_point()
        x, y = point(spot.x, spot.y)
        _x, top = point(spot.x, sector.geometry.bounds[3])
        shapes.append(
            SectorShape(sector.name, " ".join(parts), round(x, 1), round(y, 1), round(top, 1))
        )
    return SectorMap(WIDTH, round(height, 1), tuple(shapes))
