"""Where an enriched event goes next: the keyed streams that correlation reads.

Each correlation stage owns the state for one kind of key (subject, address, sector) or, for the
link graph, all of it on one partition; routing an event re-keys it so that every event of one
key meets on one partition, whichever worker ingested it.
"""

from __future__ import annotations

from enum import StrEnum

from schemas.enriched import EnrichedEvent
from streams.network import can_link


class Route(StrEnum):
    SUBJECT = "by-subject"
    ADDRESS = "by-address"
    SECTOR = "by-sector"
    LINKS = "links"


#: The single key of the links stream: the link graph has one owner (see README).
LINKS_KEY = "links"


def routes(event: EnrichedEvent) -> list[tuple[Route, str]]:
    """The (stream, key) pairs this event is sent to, in a fixed order."""
    out: list[tuple[Route, str]] = []
    if event.narcotics:
        out += [(Route.SUBJECT, ref) for ref in dict.fromkeys(s.ref for s in event.subjects)]
    if event.address_key is not None:
        out.append((Route.ADDRESS, event.address_key))
    if event.sector is not None and event.narcotics:
        out.append((Route.SECTOR, event.sector))
    if can_link(event):
        out.append((Route.LINKS, LINKS_KEY))
    return out
