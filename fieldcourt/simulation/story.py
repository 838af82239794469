"""The seed's story, chapter by chapter: Les Halles, the operation, the move to Rosa Parks.

The plot and its dates are in ``fieldcourt.simulate``'s docstring; the helpers that write one
event are in ``storyteller``. The cast is drawn first, in a fixed order, so that a seed always
gives the same people.
"""

from __future__ import annotations

import datetime as dt
import math

from fieldcourt.simulation.background import rosa_background_per_day
from fieldcourt.simulation.config import SURGE_SPAN, SimulationConfig
from fieldcourt.simulation.events import Event, Timed, crack_grams, street_cash
from fieldcourt.simulation.names import NameForge
from fieldcourt.simulation.paris import HALLES_FLATS, HALLES_STREETS, ROSA_FLAT, ROSA_STREETS
from fieldcourt.simulation.storyteller import Filing, Storyteller


def surge_size(rate: float) -> int:
    """Story events of the surge: 12, and enough to stay 3 times Rosa Parks' background."""
    return 12 + math.ceil(4 * rosa_background_per_day(rate))


class Story(Storyteller):
    """The seed's story: its cast, then its chapters in order (``build``)."""

    def __init__(self, config: SimulationConfig, forge: NameForge) -> None:
        super().__init__(config, forge)
        today = self.start.date()
        adult = (19.0, 34.0)
        self.dealers = [forge.person(today, adult, alias=0.6) for _ in range(6)]
        self.runner = forge.person(today, (20.0, 24.0), alias=0.5)
        # 16 and a few months old on the start date: still a minor all through the story.
        self.minor = forge.person(today, (16.15, 16.4))
        self.lenders = [forge.person(today, (38.0, 56.0)) for _ in range(3)]
        self.rosa_lender = forge.person(today, (40.0, 58.0))
        self.newcomers = [forge.person(today, adult, alias=0.5) for _ in range(3)]

    def build(self) -> list[Timed]:
        """Tell the whole story; its events in event-time order."""
        self._halles()
        self._operation()
        self._pressure()
        self._rosa()
        self.events.sort(key=lambda item: item[0])
        return self.events

    def _halles(self) -> None:
        """Street dealing, repeat offenders, lent apartments and a minor lookout."""
        span, rng, d, lend = self.timeline.halles, self.rng, self.dealers, self.lenders
        flat0, flat1, flat2 = HALLES_FLATS
        flagrant, repeat, flats = "halles.flagrant", "halles.repeat", "halles.apartments"

        def street_deal(
            fraction: float,
            hour: float,
            who: Event,
            tags: tuple[str, ...],
            offense: str = "trafficking",
            grams: float | None = None,
        ) -> None:
            at = self.phase(span, fraction, hour)
            place = self.street(HALLES_STREETS)
            self.arrest(at, who, place, tags, offense=offense)
            if grams is not None:
                self.seizure(
                    self.later(at), [who], place, tags, grams=grams, cash=street_cash(rng, 260)
                )

        # Dealer 0: flagrant on the street with a buyer, at apartment 0, then on the street.
        street_deal(0.0, 17.6, d[0], (flagrant, repeat), grams=crack_grams(rng, 3.5))
        self.buyer(self.phase(span, 0.0, 17.7), HALLES_STREETS)
        self.report(
            self.phase(span, 0.08, 21.0),
            flat0,
            lend[0],
            (flats,),
            usage="dealing_point",
            evidence="complaint",
            unit="CSP Paris Centre",
        )
        at = self.phase(span, 0.2, 21.2)
        self.arrest(at, d[1], self.flat(flat0), (flagrant, flats))
        self.seizure(
            self.later(at),
            [d[1]],
            self.flat(flat0),
            (flats,),
            grams=crack_grams(rng, 6),
            cash=street_cash(rng, 480),
        )
        self.arrest(
            self.phase(span, 0.26, 16.5),
            self.minor,
            self.street(HALLES_STREETS),
            ("halles.minor",),
            role="lookout",
        )
        self.arrest(self.phase(span, 0.35, 22.1), d[0], self.flat(flat0), (flagrant, repeat, flats))
        # Dealer 2 on the street, then at apartment 1 with dealer 3, then on the street again.
        street_deal(0.14, 19.2, d[2], (flagrant, repeat))
        self.report(
            self.phase(span, 0.3, 14.0),
            flat1,
            lend[1],
            (flats,),
            usage="consumption_site",
            evidence="surveillance",
            unit="BST Les Halles",
        )
        at = self.phase(span, 0.45, 20.5)
        self.arrest(at, d[2], self.flat(flat1), (flagrant, repeat, flats))
        self.seizure(
            self.later(at),
            [d[2]],
            self.flat(flat1),
            (flats,),
            grams=crack_grams(rng, 9),
            cash=street_cash(rng, 730),
        )
        self.arrest(
            self.phase(span, 0.5, 23.2),
            d[3],
            self.flat(flat1),
            (flagrant, flats),
            offense="possession",
        )
        # Apartment 2, used by dealers 4 and 5.
        self.report(
            self.phase(span, 0.55, 10.0),
            flat2,
            lend[2],
            (flats,),
            usage="stash",
            evidence="informant",
            unit="BST Les Halles",
        )
        self.arrest(self.phase(span, 0.6, 18.4), d[4], self.flat(flat2), (flagrant, flats))
        self.arrest(self.phase(span, 0.76, 20.1), d[5], self.flat(flat2), (flagrant, flats))
        self.arrest(
            self.phase(span, 0.66, 15.3),
            self.runner,
            self.street(HALLES_STREETS),
            (flagrant,),
            role="runner",
        )
        # Third arrests within 30 days: recurrence.
        street_deal(0.7, 15.4, d[0], (repeat,), offense="possession")
        street_deal(0.86, 18.9, d[2], (repeat,), offense="possession", grams=crack_grams(rng, 2.5))
        self.buyer(self.phase(span, 0.93, 0.5), HALLES_STREETS)
        if self.timeline.extras:
            for fraction, who in ((0.1, d[3]), (0.4, d[4]), (0.52, d[1]), (0.9, d[5])):
                street_deal(
                    fraction, rng.uniform(16, 23), who, (flagrant,), grams=crack_grams(rng, 4)
                )
            for fraction in (0.05, 0.18, 0.28, 0.38, 0.48, 0.62, 0.72, 0.8, 0.97):
                self.buyer(
                    self.phase(span, fraction, rng.uniform(12, 23.5)),
                    HALLES_STREETS,
                )
            street_deal(0.95, 19.5, d[0], (repeat,), grams=crack_grams(rng, 5))

    def _operation(self) -> None:
        """The joint operation: early-morning raids, one operation_ref, one procedure."""
        day, d, lend = self.timeline.operation, self.dealers, self.lenders
        at = self.at(day)  # 06:00 local in both timelines
        op = f"OP-HALLES-{self.start:%Y%m}-{self.rng.randrange(100, 999)}"
        proc = self.emit.procedure(at, "PJ-")
        raid, tags = Filing("BSP / DPJ Paris", op, proc), ("halles.operation",)
        stash = HALLES_FLATS[1]
        full = self.timeline.extras
        self.seizure(
            at,
            d[:4],
            self.flat(stash),
            tags,
            grams=86.4 if full else 64.8,
            cash=6350.0 if full else 5120.0,
            by=raid,
        )
        for minutes, who in zip((4, 6, 9, 12), d[:4], strict=True):
            self.arrest(
                at + dt.timedelta(minutes=minutes),
                who,
                self.flat(stash),
                tags,
                flagrant=False,
                by=raid,
            )
        for minutes, who, spot in zip((15, 40, 55), lend, HALLES_FLATS, strict=True):
            self.arrest(
                at + dt.timedelta(minutes=minutes),
                who,
                self.flat(spot),
                tags,
                offense="facilitation",
                role="facilitator",
                flagrant=False,
                by=raid,
            )

    def _pressure(self) -> None:
        """After the operation the trade thins out; the last arrests of those who move."""
        span, d, rng = self.timeline.pressure, self.dealers, self.rng
        movers = (d[4], d[5], self.runner, d[2])
        for fraction, who in zip((0.0, 0.42, 0.68, 1.0), movers, strict=True):
            self.arrest(
                self.phase(span, fraction, rng.uniform(15, 22)),
                who,
                self.street(HALLES_STREETS),
                ("halles.pressure",),
                offense="possession",
                role="runner" if who is self.runner else "seller",
            )
        if self.timeline.extras:
            for day, who in ((40, d[1]), (55, d[3]), (97, self.minor)):
                self.arrest(
                    self.at(day, rng.uniform(15, 22)),
                    who,
                    self.street(HALLES_STREETS),
                    ("street",),
                    role="lookout" if who is self.minor else "seller",
                )
            for day in (63, 78, 104):
                self.buyer(self.at(day, rng.uniform(12, 23)), HALLES_STREETS)

    def _rosa(self) -> None:
        """The same people in Rosa Parks, a quiet week, then the surge."""
        span, d, rng, tl = self.timeline.reappear, self.dealers, self.rng, self.timeline
        bac = Filing("BAC 19e")
        movers = (d[4], d[5], self.runner, d[2])
        for fraction, who in zip((0.0, 0.33, 0.66, 1.0), movers, strict=True):
            at = self.phase(span, fraction, rng.uniform(16, 22))
            place = self.street(ROSA_STREETS)
            self.arrest(
                at,
                who,
                place,
                ("rosa.reappearance",),
                by=bac,
                role="runner" if who is self.runner else "seller",
            )
            if who is d[5] and tl.extras:
                self.seizure(
                    self.later(at),
                    [who],
                    place,
                    ("rosa.reappearance",),
                    grams=crack_grams(rng, 14),
                    cash=street_cash(rng, 900),
                    by=bac,
                )
        if tl.extras:
            self.arrest(
                self.phase(span, 0.45, 19.0),
                d[4],
                self.street(ROSA_STREETS),
                ("street",),
                by=bac,
                offense="possession",
            )
        # The surge: enough events in 24 h to stand out against the background's share.
        size = surge_size(self.config.rate)
        times = sorted(rng.uniform(0.0, SURGE_SPAN) for _ in range(size - 1))
        surge = ("rosa.surge",)
        self.report(
            self.at(tl.surge),
            ROSA_FLAT,
            self.rosa_lender,
            surge,
            usage="dealing_point",
            evidence="complaint",
            unit="CSP 19e",
        )
        plan: list[tuple[Event, Event, str, str]] = [
            (d[4], self.flat(ROSA_FLAT), "trafficking", "seller"),
            (d[5], self.flat(ROSA_FLAT), "trafficking", "seller"),
        ]
        plan += [
            (who, self.street(ROSA_STREETS), "trafficking", "seller") for who in self.newcomers
        ]
        for index, offset in enumerate(times):
            at = self.at(tl.surge + offset)
            if index < len(plan):
                who, place, offense, role = plan[index]
                self.arrest(at, who, place, surge, offense=offense, role=role, by=bac)
            elif index % 3 == 0:
                seller = self.newcomers[index % len(self.newcomers)]
                self.seizure(
                    at,
                    [seller],
                    self.street(ROSA_STREETS),
                    surge,
                    grams=crack_grams(rng, 5),
                    cash=street_cash(rng, 350),
                    by=bac,
                )
            else:
                person = self.forge.person(self.start.date(), (22.0, 55.0))
                self.arrest(
                    at,
                    person,
                    self.street(ROSA_STREETS),
                    surge,
                    offense="use",
                    role="buyer",
                    by=bac,
                )
        if tl.extras:
            after = self.at(tl.surge + 3, 18.5)
            self.arrest(
                after,
                self.newcomers[0],
                self.street(ROSA_STREETS),
                ("street",),
                offense="possession",
                by=bac,
            )
            self.seizure(
                self.later(after),
                [self.newcomers[0]],
                self.street(ROSA_STREETS),
                ("street",),
                grams=23.5,
                cash=1240.0,
                by=bac,
            )
            self.buyer(self.at(tl.end - 0.5, 21.0), ROSA_STREETS, bac)
