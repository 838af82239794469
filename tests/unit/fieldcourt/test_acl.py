"""The ACLs derived from the catalogue are SPEC 8's table, principal by principal."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldcourt import kafka_auth as who
from fieldcourt.acl import Acl, Operation, Pattern, Resource, derive_acls
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import (
    ALERTS_TOPIC,
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    FIELD_TOPICS,
    OUTCOMES_TOPIC,
    SECTIONS,
    case_topic,
)

READ, WRITE, ALL = Operation.READ, Operation.WRITE, Operation.ALL
TOPIC, GROUP, TXN = Resource.TOPIC, Resource.GROUP, Resource.TRANSACTIONAL_ID

Right = tuple[Operation, Resource, str, Pattern]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, app_id="fc-app", police_systems="dspap,pj")


def rights(settings: Settings) -> dict[str, set[Right]]:
    found: dict[str, set[Right]] = {}
    for acl in derive_acls(settings):
        found.setdefault(acl.principal, set()).add(
            (acl.operation, acl.resource, acl.name, acl.pattern)
        )
    return found


def topics(operation: Operation, *names: str) -> set[Right]:
    return {(operation, TOPIC, name, Pattern.LITERAL) for name in names}


def own_group(principal: str) -> set[Right]:
    return {(READ, GROUP, principal, Pattern.PREFIXED)}


def test_each_principal_has_exactly_the_rights_of_spec_8(settings: Settings) -> None:
    cases = [case_topic(section) for section in SECTIONS]
    expected = {
        "police-dspap": topics(WRITE, *FIELD_TOPICS),
        "police-pj": topics(WRITE, *FIELD_TOPICS),
        who.WORKER: topics(READ, *FIELD_TOPICS, OUTCOMES_TOPIC)
        | topics(WRITE, DEADLETTER_TOPIC, *cases, ALERTS_TOPIC, AUDIT_TOPIC)
        | {
            (ALL, TOPIC, "fc-app-", Pattern.PREFIXED),
            (ALL, GROUP, "fc-app", Pattern.LITERAL),
            (ALL, TXN, "fc-app-", Pattern.PREFIXED),
        },
        who.COJC: topics(READ, ALERTS_TOPIC) | topics(WRITE, AUDIT_TOPIC) | own_group(who.COJC),
        who.COURT_REGISTRY: topics(WRITE, OUTCOMES_TOPIC),
        who.DLQ_ADMIN: topics(READ, DEADLETTER_TOPIC) | own_group(who.DLQ_ADMIN),
        who.AUDIT_READER: topics(READ, AUDIT_TOPIC) | own_group(who.AUDIT_READER),
    }
    for section, principal in who.SECTION_PRINCIPALS.items():
        # its own cases, and its own consultations recorded (``fieldcourt watch``)
        mine = topics(READ, case_topic(section)) | topics(WRITE, AUDIT_TOPIC)
        expected[principal] = mine | own_group(principal)
    assert rights(settings) == expected


def test_the_super_users_need_no_acl_and_every_other_principal_has_one(
    settings: Settings,
) -> None:
    granted = set(rights(settings))
    assert granted == set(who.principals(settings)) - {who.BROKER, who.ADMIN}


def test_the_acls_are_sorted_and_unique(settings: Settings) -> None:
    acls = derive_acls(settings)
    assert acls == sorted(set(acls))
    assert Acl(who.WORKER, GROUP, "fc-app", Pattern.LITERAL, ALL).describe() == (
        "fieldcourt       ALL    group fc-app"
    )
