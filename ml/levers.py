"""The twelve business levers of the forecast: one validated pydantic object, stored as levers.yaml.

Every lever is neutral at its default (the base forecast is reproduced exactly) and moves the forecast in
one documented direction; ``ml.scenario`` turns lever values into multiplicative/additive adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from lodestar.settings import PROJECT_ROOT

LEVERS_FILE = PROJECT_ROOT / "levers.yaml"


class LeverError(ValueError):
    """A lever value is unknown, not a number or out of its allowed range; the message names the lever."""


@dataclass(frozen=True)
class LeverSpec:
    name: str
    meaning: str
    unit: str
    lo: float
    hi: float
    default: float
    # up: a higher value never lowers the forecast; down: never raises it; spread: moves weeks away from the
    # series' horizon mean and keeps the horizon total (seasonality has no single direction).
    direction: str
    driver: str  # the lever-aware input column of the scenario frame the lever acts through


LEVER_SPECS: tuple[LeverSpec, ...] = (
    LeverSpec("delivery_delay_tolerance", "Key-account delivery-delay tolerance threshold: days of late delivery "
              "a key account accepts before it moves the order elsewhere", "days", 0, 30, 7, "up", "delivery_delay_days"),
    LeverSpec("material_price_sensitivity", "Raw-material price sensitivity coefficient: how much of a rise in the "
              "material price index passes through to lower demand", "elasticity", 0, 3, 1, "down", "material_price_index"),
    LeverSpec("project_cycle_float", "Key-account project-cycle float tolerance: weeks a key-account project may slip "
              "and still land inside the forecast week", "weeks", 0, 12, 4, "up", "project_share"),
    LeverSpec("safety_stock", "Channel stock-push safety-stock coefficient: multiple of the standard safety stock "
              "distributors are asked to hold (sell-in on distributor channel)", "x standard", 0.5, 3, 1, "up",
              "safety_stock_units"),
    LeverSpec("promo_half_life", "Promotion ROI decay curve: weeks after a promotion starts until its lift halves",
              "weeks", 0.5, 12, 2, "up", "promo_lift"),
    LeverSpec("price_elasticity", "Own-price elasticity magnitude applied to planned price increases against the "
              "13-week reference price", "|elasticity|", 0, 4, 1.2, "down", "price_rel"),
    LeverSpec("new_product_ramp", "New-product ramp-up: weeks a newly launched SKU needs to reach full run-rate",
              "weeks", 1, 26, 8, "down", "weeks_since_launch"),
    LeverSpec("intent_signal_weight", "Intent-signal weight: how much CRM buying signals (email opens, proposal "
              "downloads, site visits) lift the forecast", "x standard", 0, 3, 1, "up", "intent_score"),
    LeverSpec("capacity_enforcement", "Capacity-constraint enforcement: share of demand above planned capacity "
              "that is cut (0 = unconstrained, 1 = hard cap)", "share", 0, 1, 0, "down", "capacity_units"),
    LeverSpec("complaint_impact", "Competitor complaint impact: demand lost per unit of complaint heat naming a "
              "competitor", "share per heat unit", 0, 1, 0.1, "down", "complaint_heat"),
    LeverSpec("seasonality_strength", "Seasonality strength: scales each week's deviation from the series' "
              "horizon mean (1 = as forecast)", "x", 0, 2, 1, "spread", "(series mean)"),
    LeverSpec("churn_risk_discount", "Churn-risk discount by health band: share of demand discounted for red-band "
              "accounts (amber gets half, green none)", "share", 0, 0.9, 0.2, "down", "health_band"),
)
SPECS: dict[str, LeverSpec] = {s.name: s for s in LEVER_SPECS}


class Levers(BaseModel):
    """Lever values; construct with :meth:`with_overrides` or :func:`load_levers` to get lever-named errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    delivery_delay_tolerance: float = 7
    material_price_sensitivity: float = 1
    project_cycle_float: float = 4
    safety_stock: float = 1
    promo_half_life: float = 2
    price_elasticity: float = 1.2
    new_product_ramp: float = 8
    intent_signal_weight: float = 1
    capacity_enforcement: float = 0
    complaint_impact: float = 0.1
    seasonality_strength: float = 1
    churn_risk_discount: float = 0.2

    def model_post_init(self, __context: Any) -> None:
        for name, spec in SPECS.items():
            check_value(name, getattr(self, name), spec)

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any] | None = None, base: Levers | None = None) -> Levers:
        """A copy of ``base`` (defaults) with some levers changed; unknown names and bad values raise LeverError."""
        values = (base or cls()).model_dump()
        for name, raw in (overrides or {}).items():
            if name not in SPECS:
                raise LeverError(f"unknown lever {name!r}; levers are {sorted(SPECS)}")
            try:
                values[name] = float(raw)
            except (TypeError, ValueError):
                raise LeverError(f"lever {name}: {raw!r} is not a number ({SPECS[name].unit})") from None
            check_value(name, values[name], SPECS[name])
        try:
            return cls(**values)
        except ValidationError as exc:  # pragma: no cover - check_value catches range errors first
            raise LeverError(str(exc)) from None

    def changed(self) -> dict[str, float]:
        """Levers that differ from their default."""
        return {k: v for k, v in self.model_dump().items() if v != SPECS[k].default}


def check_value(name: str, value: float, spec: LeverSpec) -> None:
    if not (spec.lo <= value <= spec.hi):  # also rejects NaN
        raise LeverError(
            f"lever {name}={value:g} is out of its allowed range [{spec.lo:g}, {spec.hi:g}] {spec.unit} "
            f"(default {spec.default:g}): {spec.meaning.split(':')[0]}"
        )


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["promo_half_life=3", "safety_stock=1.4"]`` -> dict; a malformed item raises LeverError."""
    out = {}
    for item in items:
        if "=" not in item:
            raise LeverError(f"--set expects lever=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def spec_table() -> list[dict[str, Any]]:
    """The lever catalogue as rows (name, meaning, unit, min, max, default, direction, driver)."""
    return [
        {"name": s.name, "meaning": s.meaning, "unit": s.unit, "min": s.lo, "max": s.hi, "default": s.default,
         "direction": s.direction, "driver": s.driver}
        for s in LEVER_SPECS
    ]


def dump_levers(levers: Levers, path: Path | str = LEVERS_FILE) -> Path:
    """Write levers.yaml: the catalogue (documentation) plus the current values."""
    path = Path(path)
    doc = {"levers": [{**row, "value": getattr(levers, row["name"])} for row in spec_table()]}
    header = "# Business levers of the forecast (ml/levers.py validates; edit `value` only).\n"
    path.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")
    return path


def load_levers(path: Path | str = LEVERS_FILE) -> Levers:
    """Read levers.yaml (values only are taken; a missing file means all defaults). Errors name file and lever."""
    path = Path(path)
    if not path.exists():
        return Levers()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise LeverError(f"{path}: not valid YAML: {exc}") from None
    rows = doc.get("levers", [])
    if not isinstance(rows, list) or any(not isinstance(r, dict) or "name" not in r for r in rows):
        raise LeverError(f"{path}: `levers` must be a list of mappings with `name` and `value`")
    try:
        return Levers.with_overrides({r["name"]: r.get("value", SPECS.get(r["name"], SPECS["safety_stock"]).default)
                                      for r in rows})
    except LeverError as exc:
        raise LeverError(f"{path}: {exc}") from None
