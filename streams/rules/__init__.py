"""The correlation rules of SPEC 6 as plain functions over state protocols; no Faust here.

Each agent records an event in its state, then calls its entry point:

- subject agent, per (event, subject ref): ``evaluate_subject`` (p12.flagrant, p20.recurrence,
  cojc.displacement), which also yields ``Displacement``s for the destination sector;
- address agent: ``evaluate_address`` (p20.dealing_address);
- once per seizure event: ``evaluate_seizure`` (f3.seizure);
- sector agent: ``evaluate_sector`` (cojc.surge) per event, ``evaluate_displacement``
  (cojc.trade_migration) per displacement into the sector.

``RuleMatch``es go to the case manager, ``Alert``s to ``cojc.alerts.v1``. Numbers come from
``load_rules`` (f3.network's are read by the network builder).
"""

from streams.rules.address import dealing_address, evaluate_address
from streams.rules.config import (
    DEFAULT_RULES_FILE,
    RULE_IDS,
    RuleParams,
    RulesConfig,
    RulesConfigError,
    SectorTunedParams,
    load_rules,
)
from streams.rules.displacement import Displacement, displacement_alerts, find_displacements
from streams.rules.limiter import AlertLimiter, Slot, period_start
from streams.rules.ports import AddressHistory, SectorCounts, SubjectHistory
from streams.rules.sector import (
    Arrival,
    MigrationLedger,
    evaluate_displacement,
    evaluate_sector,
    surge,
    trade_migration,
)
from streams.rules.seizure import evaluate_seizure, seizure
from streams.rules.subject import SubjectOutcome, evaluate_subject, flagrant, recurrence

__all__ = [
    "DEFAULT_RULES_FILE",
    "RULE_IDS",
    "AddressHistory",
    "AlertLimiter",
    "Arrival",
    "Displacement",
    "MigrationLedger",
    "RuleParams",
    "RulesConfig",
    "RulesConfigError",
    "SectorCounts",
    "SectorTunedParams",
    "Slot",
    "SubjectHistory",
    "SubjectOutcome",
    "dealing_address",
    "displacement_alerts",
    "evaluate_address",
    "evaluate_displacement",
    "evaluate_sector",
    "evaluate_seizure",
    "evaluate_subject",
    "find_displacements",
    "flagrant",
    "load_rules",
    "period_start",
    "recurrence",
    "seizure",
    "surge",
    "trade_migration",
]
