"""The declarative rules file (SPEC 6): every rule's numbers, validated once at start-up.

``fieldcourt/data/rules.yaml`` ships the SPEC's defaults; an operator's file may set any subset.
Rules whose numbers depend on local conditions take per-sector overrides under ``sectors:``;
``for_sector`` gives the effective numbers. A bad file is refused with one line per bad entry,
each naming it: ``rules.yaml: rules.p20.recurrence.window_days: must be > 0``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from schemas.field import Offense, Substance
from streams.errors import ConfigurationError

# Relative to this file, not to ``fieldcourt.__file__``: that is None when a stale install
# leaves ``fieldcourt`` a namespace package. streams/ and fieldcourt/ are siblings.
DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "fieldcourt" / "data" / "rules.yaml"

# Lists in YAML become tuples: strict mode would refuse a list where a tuple is declared.
OffenseList = Annotated[tuple[Offense, ...], Field(min_length=1, strict=False)]
SubstanceList = Annotated[tuple[Substance, ...], Field(min_length=1, strict=False)]
SectorName = Annotated[str, Field(min_length=1)]


class RulesConfigError(ConfigurationError, ValueError):
    """The rules file is unreadable or invalid; the message names each bad entry."""


class _ConfigModel(BaseModel):
    """No coercion, no unknown keys, no infinities: a typo is an error, not a default."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class RuleParams(_ConfigModel):
    """What every rule has: an id and a switch."""

    rule_id: ClassVar[str]
    enabled: bool = True

    def for_sector(self, sector: str | None) -> Self:
        """The numbers that apply in ``sector``; the same everywhere unless overridable."""
        return self


class SectorTunedParams(RuleParams):
    """A rule whose numbers a sector may override (``sectors: {rosa-parks: {min_count: 6}}``)."""

    sectors: dict[SectorName, Self] = Field(default_factory=dict)
    _effective: dict[str, Self] = PrivateAttr(default_factory=dict)

    @field_validator("sectors")
    @classmethod
    def _flat(cls, sectors: dict[str, Any]) -> dict[str, Any]:
        nested = sorted(name for name, override in sectors.items() if override.sectors)
        if nested:
            raise ValueError(f"a sector override cannot have sectors of its own ({nested[0]})")
        return sectors

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        # Only the keys an override sets replace the rule's own values; resolved once here.
        self._effective = {
            name: self.model_copy(
                update={key: getattr(override, key) for key in override.model_fields_set}
                | {"sectors": {}}
            )
            for name, override in self.sectors.items()
        }
        return self

    def for_sector(self, sector: str | None) -> Self:
        if sector is None:
            return self
        # Read past pydantic's ``__getattr__`` for private attributes (2 µs a call here, and
        # the rules ask several times an event).
        effective: dict[str, Self] = self.__pydantic_private__["_effective"]  # type: ignore[index]
        return effective.get(sector, self)

    def variants(self) -> list[Self]:
        """The rule's numbers and every sector's: the widest window bounds a state query."""
        return [self, *self._effective.values()]


class FlagrantParams(RuleParams):
    rule_id: ClassVar[str] = "p12.flagrant"
    offenses: OffenseList = ("trafficking", "possession", "facilitation")
    max_report_delay_hours: PositiveFloat = 48.0


class RecurrenceParams(SectorTunedParams):
    """Sector: that of the window's latest arrest."""

    rule_id: ClassVar[str] = "p20.recurrence"
    min_arrests: PositiveInt = 3
    window_days: PositiveInt = 30


class DealingAddressParams(SectorTunedParams):
    """Sector: that of the dealing-address report."""

    rule_id: ClassVar[str] = "p20.dealing_address"
    min_events: PositiveInt = 2
    window_days: PositiveInt = 30


class SeizureParams(RuleParams):
    rule_id: ClassVar[str] = "f3.seizure"
    substances: SubstanceList = ("crack", "cocaine", "heroin")
    min_quantity_g: PositiveFloat = 50.0
    min_cash_eur: PositiveFloat = 5000.0
    min_weapons: PositiveInt = 1


class NetworkParams(RuleParams):
    rule_id: ClassVar[str] = "f3.network"
    min_subjects: PositiveInt = 4
    window_days: PositiveInt = 60


class DisplacementParams(SectorTunedParams):
    """Sector: the destination, whose COJC receives the alert."""

    rule_id: ClassVar[str] = "cojc.displacement"
    window_days: PositiveInt = 90
    once_per_days: PositiveInt = 90


class TradeMigrationParams(SectorTunedParams):
    """Sector: the destination."""

    rule_id: ClassVar[str] = "cojc.trade_migration"
    min_subjects: PositiveInt = 3
    window_days: PositiveInt = 30
    once_per_days: PositiveInt = 30


class SurgeParams(SectorTunedParams):
    """The 24 h window and the 7-day baseline are those of ``SectorState.trailing``."""

    rule_id: ClassVar[str] = "cojc.surge"
    min_count: PositiveInt = 10
    factor: PositiveFloat = 3.0
    once_per_hours: PositiveFloat = 24.0


Windowed = RecurrenceParams | DealingAddressParams | DisplacementParams | TradeMigrationParams
_WIDEST: dict[int, tuple[Windowed, timedelta]] = {}


def widest_window(params: Windowed) -> timedelta:
    """The widest ``window_days`` of a rule over its sector variants: how far a state query
    reaches. Computed once per rules object (the rules hold per event)."""
    cached = _WIDEST.get(id(params))
    if cached is None or cached[0] is not params:
        days = max(p.window_days for p in params.variants())
        cached = _WIDEST[id(params)] = (params, timedelta(days=days))
    return cached[1]


class Rules(_ConfigModel):
    flagrant: FlagrantParams = Field(default_factory=FlagrantParams, alias="p12.flagrant")
    recurrence: RecurrenceParams = Field(default_factory=RecurrenceParams, alias="p20.recurrence")
    dealing_address: DealingAddressParams = Field(
        default_factory=DealingAddressParams, alias="p20.dealing_address"
    )
    seizure: SeizureParams = Field(default_factory=SeizureParams, alias="f3.seizure")
    network: NetworkParams = Field(default_factory=NetworkParams, alias="f3.network")
    displacement: DisplacementParams = Field(
        default_factory=DisplacementParams, alias="cojc.displacement"
    )
    trade_migration: TradeMigrationParams = Field(
        default_factory=TradeMigrationParams, alias="cojc.trade_migration"
    )
    surge: SurgeParams = Field(default_factory=SurgeParams, alias="cojc.surge")


RULE_IDS: tuple[str, ...] = tuple(
    str(field.alias) for field in Rules.model_fields.values() if field.alias is not None
)


class RulesConfig(_ConfigModel):
    version: Literal[1] = 1
    #: Events further behind the watermark than this are recorded but trigger nothing.
    lateness_days: PositiveInt = 7
    rules: Rules = Field(default_factory=Rules)

    @property
    def lateness(self) -> timedelta:
        return timedelta(days=self.lateness_days)


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice: the second would silently win otherwise."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_rules(path: Path | None = None) -> RulesConfig:
    """Read and validate a rules file; ``None`` reads the shipped defaults."""
    path = DEFAULT_RULES_FILE if path is None else path
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except OSError as exc:
        raise RulesConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesConfigError(f"{path}: expected a mapping at the top level")
    try:
        return RulesConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {_describe(err)}" for err in exc.errors()]
        raise RulesConfigError("\n".join(lines)) from None


def _describe(err: ErrorDetails) -> str:
    """``where: what``, in words an operator editing YAML recognises."""
    loc = err["loc"]
    where = ".".join(str(part) for part in loc) or "top level"
    ctx = err.get("ctx", {})
    kind = err["type"]
    if kind == "greater_than":
        what = f"must be > {ctx['gt']}"
    elif kind == "extra_forbidden" and loc[:-1] == ("rules",):
        what = f"unknown rule (known: {', '.join(RULE_IDS)})"
    elif kind == "extra_forbidden":
        what = "unknown key"
    elif kind == "value_error":
        what = str(ctx["error"])
    else:
        what = err["msg"]
    return f"{where}: {what}"
