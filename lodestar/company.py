"""A company is configuration: one ``lodestar.yaml`` naming its sources, contracts, calendar and currency.

Chosen by ``--company PATH`` or ``LODESTAR_COMPANY``; without one, Lodestar runs the bundled demo company
(drops under ``$LODESTAR_DEMO_DIR/drops``, the demo API served for the HTTP feeds). ``lodestar generate``
writes the demo's own file, so the demo is one configured company among others.

```yaml
company: Acme Supply Co.
currency: USD
calendar:                         # default: monday, 1 (ISO weeks, calendar quarters)
  week_start: sunday              # every week: POS, health and the forecast grain (its partitions, schedule)
  fiscal_year_start_month: 4      # fiscal quarters, the year named by its end: FY2027 = 2026-04 .. 2027-03
  timezone: America/New_York
contracts_dir: contracts          # this company's file contracts (default: connectors/contracts)
http_contracts_dir: http          # its HTTP contracts (default: connectors/http)
sources:                          # the file sources that apply, and where each one's drops are
  erp: {path: /srv/exports/erp}   # relative paths resolve against this file's folder
  walmart: {}                     # no path: the contract's root (drops / shared data)
http:                             # the HTTP feeds that apply
  ecommerce_orders: {base_url: "https://shop.example.com", token_env: SHOP_API_TOKEN}
documents: inbox                  # the document inbox (PDFs, scans)
as_of: 2022-01-01                 # the day after the data's last day (default: today)
forecast_first_week: 2021-01-03   # the first forecast origin, a week start (default: the week of 2024-01-01)
demo_api: false                   # serve the bundled demo API for the HTTP feeds (the demo only)
sample: {customers: 0.25}         # a trial run: land a deterministic quarter of the customers (default: all)
```
Omitting ``sources`` (or ``http``) means every contract of the company's own ``contracts_dir`` (or
``http_contracts_dir``) applies; the checkout's contracts are the demo company's and apply only when listed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

COMPANY_ENV = "LODESTAR_COMPANY"
COMPANY_FILE_NAME = "lodestar.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Calendar(_Strict):
    """The company's weeks and fiscal quarters, as the dbt macros ``company_week`` and ``fiscal_quarter``
    (dbt_project/macros/calendar.sql) and the quarterly value reports count them. A fiscal year is named by
    the year it ends in: with ``fiscal_year_start_month: 4``, FY2027 runs 2026-04-01 .. 2027-03-31 and its
    first quarter is ``2027Q1``. The defaults are ISO weeks and calendar quarters."""

    week_start: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    timezone: str = "UTC"
    fiscal_year_start_month: int = Field(1, ge=1, le=12)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as America/New_York)") from None
        return v

    @property
    def week_start_weekday(self) -> int:
        """The week's first day as ``date.weekday()`` counts (Monday = 0)."""
        return WEEKDAYS.index(self.week_start)

    def week_of(self, d: date) -> date:
        """The first day of the company's week holding ``d``."""
        return d - timedelta(days=(d.weekday() - self.week_start_weekday) % 7)

    @property
    def _shift(self) -> int:  # months from a day to its fiscal twin (see the macro fiscal_shift_months)
        return (13 - self.fiscal_year_start_month) % 12

    def quarter_label(self, d: date) -> str:
        """``2026Q3``: the fiscal year and quarter holding ``d``."""
        year, month = _add_months(d.year, d.month, self._shift)
        return f"{year}Q{(month - 1) // 3 + 1}"

    def quarter_start(self, fiscal_year: int, quarter: int) -> date:
        """The first day of a fiscal quarter."""
        year, month = _add_months(fiscal_year, 3 * quarter - 2, -self._shift)
        return date(year, month, 1)

    def quarter_months(self) -> list[int]:
        """The months the fiscal quarters start in (1, 4, 7, 10 for calendar quarters)."""
        return sorted((self.fiscal_year_start_month - 1 + 3 * k) % 12 + 1 for k in range(4))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


class Sample(_Strict):
    """A deterministic share of the customers, for a quick trial run on a large export: a row of a file feed with
    a ``column`` (``customer_id``) lands only when the customer is in the share (by the md5 of the id, so the
    same customers every run and in every feed: orders follow their customers); feeds without the column (SKUs,
    product lines) land whole. Rows left out are counted (``rows_sampled_out``), not rejected."""

    customers: float = Field(gt=0, le=1)
    column: str = "customer_id"


class SourceConfig(_Strict):
    path: Path | None = None


class HttpFeedConfig(_Strict):
    base_url: str | None = None
    token_env: str | None = None


class Company(_Strict):
    """One company's configuration; paths are absolute once loaded (relative ones against the file)."""

    company: str
    currency: str = Field(min_length=3, max_length=3)
    calendar: Calendar = Field(default_factory=Calendar)
    contracts_dir: Path | None = None
    http_contracts_dir: Path | None = None
    sources: dict[str, SourceConfig] | None = None
    http: dict[str, HttpFeedConfig] | None = None
    documents: Path | None = None
    demo_api: bool = False
    # The day after the data's last day (default: the demo's generation date, else today): a company whose
    # export stops in the past forecasts from there. forecast_first_week: the first forecast origin (a week start:
    # the calendar's week_start day).
    as_of: date | None = None
    forecast_first_week: date | None = None
    sample: Sample | None = None  # land a deterministic share of the customers only (a trial run)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _first_week_starts_a_week(self) -> Company:
        v = self.forecast_first_week
        if v is not None and v.weekday() != self.calendar.week_start_weekday:
            raise ValueError(f"forecast_first_week: must be a {self.calendar.week_start.capitalize()}, the calendar's "
                             f"week_start (got {v.isoformat()}, a {v.strftime('%A')})")
        return self

    def source_folder(self, source: str) -> Path | None:
        """The configured drop folder of a file source (None: the contract's root decides)."""
        cfg = (self.sources or {}).get(source)
        return cfg.path if cfg is not None else None

    def applies(self, source: str) -> bool:
        """Listed under ``sources``; with no list, every contract of the company's own contracts folder
        (the checkout's contracts are the demo's: they apply only when listed)."""
        return source in self.sources if self.sources is not None else self.contracts_dir is not None

    def http_applies(self, name: str) -> bool:
        return name in self.http if self.http is not None else self.http_contracts_dir is not None


class CompanyError(ValueError):
    """The company file is missing or malformed (names the file and the field)."""


def load_company(path: Path) -> Company:
    """Load and validate a company file; relative paths resolve against its folder."""
    path = Path(path).expanduser().resolve()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompanyError(f"{path}: no such company file") from None
    except (OSError, yaml.YAMLError) as exc:
        raise CompanyError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CompanyError(f"{path}: must be a YAML mapping")
    try:
        company = Company.model_validate(data)
    except ValidationError as exc:
        # A check across fields (e.g. forecast_first_week against the calendar) has no location: its message
        # names the field.
        msgs = "; ".join((f"{'.'.join(str(p) for p in e['loc'])}: " if e["loc"] else "")
                         + ("unknown field (typo?)" if e["type"] == "extra_forbidden"
                            else e["msg"].removeprefix("Value error, "))
                         for e in exc.errors())
        raise CompanyError(f"{path}: {msgs}") from exc

    def here(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (path.parent / p)).resolve()

    company.contracts_dir = here(company.contracts_dir)
    company.http_contracts_dir = here(company.http_contracts_dir)
    company.documents = here(company.documents)
    for cfg in (company.sources or {}).values():
        cfg.path = here(cfg.path)
    company.path = path
    for label, folder in (("contracts_dir", company.contracts_dir), ("http_contracts_dir", company.http_contracts_dir)):
        if folder is not None and not folder.is_dir():
            raise CompanyError(f"{path}: {label}: no such folder {folder}")
    return company


_cache: dict[Path, tuple[float, Company]] = {}


def current_company() -> Company | None:
    """The company named by ``LODESTAR_COMPANY`` (None: the built-in demo defaults)."""
    value = os.environ.get(COMPANY_ENV)
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    mtime = path.stat().st_mtime if path.exists() else -1.0
    hit = _cache.get(path)
    if hit is None or hit[0] != mtime:
        _cache[path] = (mtime, load_company(path))
    return _cache[path][1]


def company_calendar() -> Calendar:
    """The configured company's calendar (the demo's: ISO weeks, calendar quarters)."""
    company = current_company()
    return company.calendar if company is not None else Calendar()


@contextlib.contextmanager
def environ_overrides(overrides: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the block, then put back what was there (or nothing)."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def http_environment(company: Company | None, contract) -> Iterator[None]:
    """For one HTTP feed's load: point its base-URL env var at the company's base URL, and its token env var at
    the token in the company's ``token_env`` (copied in this process only, never printed); restored afterwards,
    so loading the definitions never writes the environment."""
    cfg = company.http.get(contract.name) if company is not None and company.http else None
    overrides: dict[str, str] = {}
    if cfg is not None:
        if cfg.base_url:
            overrides[contract.base_url_env] = cfg.base_url
        if cfg.token_env and contract.auth and cfg.token_env != contract.auth.token_env:
            token = os.environ.get(cfg.token_env)
            if token:
                overrides[contract.auth.token_env] = token
    with environ_overrides(overrides):
        yield


def applicable_contracts(company: Company | None, contracts_dir: Path, http_dir: Path) -> tuple[list, list, list]:
    """The company's file and HTTP contracts that apply (its own folders and listed sources; without a
    company, every contract of the given folders), and the errors of the invalid ones."""
    from connectors.contracts import discover_http_contracts, load_file_contracts

    if company is not None:
        contracts_dir = company.contracts_dir or contracts_dir
        http_dir = company.http_contracts_dir or http_dir
    sources, file_errors = load_file_contracts(contracts_dir)
    feeds, http_errors = discover_http_contracts(http_dir)
    if company is not None:
        sources = [c for c in sources if company.applies(c.source)]
        feeds = [h for h in feeds if company.http_applies(h.name)]
    return sources, feeds, [*file_errors, *http_errors]


def contract_rules(company: Company, contracts_dir: Path, http_dir: Path) -> dict[str, dict]:
    """Per raw table of the company, the columns its contract marks required and the values it allows: the
    dbt variable ``lodestar_contracts`` that the contract-derived staging tests follow (the connector enforced
    the same rules on every landed row, so staging never re-checks another company's vocabulary)."""
    sources, feeds, _ = applicable_contracts(company, contracts_dir, http_dir)
    tables: list[tuple[str, dict]] = [(f"{c.source}_{name}", f.columns) for c in sources for name, f in c.feeds.items()]
    tables += [(h.table_name, h.columns) for h in feeds]
    return {table: {"required": sorted(col for col, spec in cols.items() if spec.required),
                    "values": {col: list(spec.values) for col, spec in cols.items() if spec.values is not None}}
            for table, cols in tables}


def dbt_vars(company: Company | None = None) -> dict:
    """The dbt ``--vars`` of a run for the configured company (empty for the checkout's demo defaults)."""
    company = company if company is not None else current_company()
    if company is None:
        return {}
    from lodestar.settings import PROJECT_ROOT

    return {"lodestar_contracts": contract_rules(company, PROJECT_ROOT / "connectors" / "contracts",
                                                 PROJECT_ROOT / "connectors" / "http"),
            "lodestar_currency": company.currency,
            # its calendar: the dbt macros company_week and fiscal_quarter (dbt_project/macros/calendar.sql)
            "lodestar_week_start": company.calendar.week_start,
            "lodestar_fiscal_year_start_month": company.calendar.fiscal_year_start_month}


def demo_company_yaml(contracts_dir: Path, http_dir: Path) -> str:
    """The demo company's ``lodestar.yaml`` (written by the generator into the demo folder)."""
    from connectors.contracts import discover_http_contracts, load_file_contracts

    sources, _ = load_file_contracts(contracts_dir)
    feeds, _ = discover_http_contracts(http_dir)
    doc = {
        "company": "洁立达 (demo company)",
        "currency": "CNY",
        "calendar": {"week_start": "monday", "timezone": "Asia/Shanghai", "fiscal_year_start_month": 1},
        "sources": {c.source: ({"path": f"drops/{c.folder_name}"} if c.root == "drops" else {}) for c in sources},
        "http": {h.name: {} for h in feeds},
        "documents": "documents",
        "demo_api": True,
    }
    head = ("# The demo company as configuration (written by `lodestar generate`). Run it with\n"
            "#   lodestar run --company <this file>\n"
            "# Copy and edit it for your own company: see README \"Use your own data\".\n")
    return head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
