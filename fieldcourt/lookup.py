"""``fieldcourt subject lookup``: which cases hold a person, for an access request (contract §8).

An authorised officer gives the person's identity attributes, the ones ingest turns into a
subject reference (``streams.pseudonym``: ``person_id``, else last name, first name and birth
date), from a file or at a prompt, never on the command line (argv is visible to every user of
the machine and kept in shell histories). The reference is computed with the configured key;
the consultation is recorded in ``audit.v1`` (with its purpose and the reference, never the
attributes) and acknowledged before anything is read. Then the case topics are read from the
beginning to their current end, without a consumer group, and every case whose latest event
holds the reference is listed, with the cases that held it once and no longer do (a court
outcome removed the subject): their earlier events still carry the reference.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson
from pydantic import ValidationError

from fieldcourt.kafka_auth import ADMIN, ClientOptions, client_options
from fieldcourt.settings import Settings
from fieldcourt.topics import SECTIONS, case_topic
from fieldcourt.watch import existing_topics, position
from schemas.cases import CaseEvent
from schemas.codec import loads
from schemas.common import Person
from streams.errors import FieldcourtError
from streams.pseudonym import Pseudonymiser

#: The attributes asked for at the prompt, in order, with what the prompt says.
PROMPTS = (
    ("person_id", "person_id (leave empty if the police systems gave none)"),
    ("last_name", "last name"),
    ("first_name", "first name"),
    ("birth_date", "birth date YYYY-MM-DD (leave empty if unknown)"),
)


class IdentityError(FieldcourtError):
    """The identity attributes are missing or malformed; the message names the field."""

    exit_status = 2


def subject_ref_of(attributes: dict[str, Any], pseudonymiser: Pseudonymiser) -> str:
    """The reference ingest gives a person with these attributes: ``person_id`` when given,
    else the normalised name and birth date (the same ``Person`` model, the same key)."""
    given = {k: v for k, v in attributes.items() if v not in (None, "")}
    person_id = given.get("person_id")
    if person_id is not None:
        if not isinstance(person_id, str) or not person_id.strip():
            raise IdentityError("person_id must be a non-empty string")
        return pseudonymiser.ref_of_key(person_id)
    try:
        person = Person.model_validate_json(
            orjson.dumps(
                {k: given[k] for k in ("last_name", "first_name", "birth_date") if k in given}
            )
        )
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
        raise IdentityError(
            "identity attributes: give person_id, or last_name and first_name (and birth_date "
            f"as YYYY-MM-DD if known); wrong or missing: {', '.join(fields)}"
        ) from None
    return pseudonymiser.ref(person)


def attributes_from_file(path: Path) -> dict[str, Any]:
    """A JSON object with the attributes (the other keys a person record has are ignored)."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise IdentityError(f"cannot read identity attributes from {path}: {exc}") from None
    if not isinstance(data, dict):
        raise IdentityError(f"{path}: expected a JSON object of identity attributes")
    return {key: data.get(key) for key, _label in PROMPTS}


def attributes_from_prompt(ask: Callable[[str], str]) -> dict[str, Any]:
    """Each attribute asked in turn (``ask`` shows a prompt and returns the line typed)."""
    return {key: ask(f"{label}: ").strip() for key, label in PROMPTS}


def prompt_on(stream_in: TextIO, stream_out: TextIO) -> Callable[[str], str]:
    """Prompts on ``stream_out`` (stderr: stdout stays the result), answers read from
    ``stream_in``; the end of input is an empty answer."""

    def ask(text: str) -> str:
        stream_out.write(text)
        stream_out.flush()
        return stream_in.readline().rstrip("\n")

    return ask


@dataclass(frozen=True)
class Holding:
    """One case and where the subject stands in it, from the case's latest event."""

    case_id: str
    section: str
    anchor: str
    version: int
    status: str  # open / closed / merged
    #: The subject's roles in the latest event; empty when they were removed since.
    roles: tuple[str, ...]
    last_event_at: dt.datetime

    @property
    def holds(self) -> bool:
        return bool(self.roles) or self.status == "merged"


def holdings(ref: str, events: Iterable[CaseEvent]) -> list[Holding]:
    """The cases whose events ever held ``ref``, each as its latest event shows it."""
    latest: dict[str, CaseEvent] = {}
    ever: set[str] = set()
    for event in events:
        if any(s.ref == ref for s in event.subjects):
            ever.add(event.case_id)
        current = latest.get(event.case_id)
        if current is None or event.version > current.version:
            latest[event.case_id] = event
    found = []
    for case_id in sorted(ever):
        event = latest[case_id]
        roles = next((tuple(s.roles) for s in event.subjects if s.ref == ref), ())
        status = {"case_closed": "closed", "case_merged": "merged"}.get(event.event_type, "open")
        found.append(
            Holding(
                case_id=case_id,
                section=event.section,
                anchor=event.anchor.kind,
                version=event.version,
                status=status,
                roles=roles,
                last_event_at=event.last_event_at,
            )
        )
    return found


def describe(ref: str, found: list[Holding]) -> list[str]:
    if not found:
        return [f"{ref}: no case holds this subject"]
    lines = [f"{ref}: {sum(h.holds for h in found)} case(s) hold this subject"]
    for h in found:
        where = f"roles {'/'.join(h.roles)}" if h.roles else "removed from it since"
        if h.status == "merged" and not h.roles:
            where = "merged into another case (listed there)"
        lines.append(
            f"  {h.case_id}  {h.section:<3}  {h.status:<6}  v{h.version}  {h.anchor} case  "
            f"{where}  last event {h.last_event_at:%Y-%m-%d}"
        )
    return lines


def lookup(settings: Settings, purpose: str, identity_file: Path | None) -> list[str]:
    """The command: attributes from ``identity_file`` or the prompt (stdin, prompts on
    stderr), the consultation recorded, then the cases read; the lines to print."""
    from fieldcourt.consult import record_consultation

    if identity_file is not None:
        attributes = attributes_from_file(identity_file)
    else:
        attributes = attributes_from_prompt(prompt_on(sys.stdin, sys.stderr))
    ref = subject_ref_of(attributes, Pseudonymiser(settings.pseudonym_key_bytes()))
    detail = "subject lookup on " + ", ".join(case_topic(s) for s in SECTIONS)

    # Only the super user reads every section's topic (or FIELDCOURT_KAFKA_USER's principal).
    kafka = client_options(settings, ADMIN)

    async def run() -> list[CaseEvent]:
        await record_consultation(kafka, purpose, detail, [ref])
        return await read_cases(kafka, sys.stderr)

    return describe(ref, holdings(ref, asyncio.run(run())))


async def read_cases(kafka: ClientOptions, err: TextIO) -> list[CaseEvent]:
    """Every case event on the section topics, from the beginning to their end right now."""
    from aiokafka import AIOKafkaConsumer

    topics = await existing_topics(
        kafka, [case_topic(s) for s in SECTIONS], err, tool="subject lookup"
    )
    if not topics:
        return []
    consumer = AIOKafkaConsumer(
        *topics,
        **kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # what seek_to_beginning resolves to, as in watch
    )
    events: list[CaseEvent] = []
    try:
        await consumer.start()
        await position(consumer, from_beginning=True)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        left = {tp: end for tp, end in ends.items() if end > await consumer.position(tp)}
        while left:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                events += [loads(CaseEvent, r.value) for r in records if r.value]
                if tp in left and await consumer.position(tp) >= left[tp]:
                    del left[tp]
    finally:
        await consumer.stop()
    return events
