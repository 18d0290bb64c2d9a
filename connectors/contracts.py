"""Feed contracts: the pydantic models behind `connectors/contracts/*.yaml` and `connectors/http/*.yaml`.

Loading a YAML gives either a validated contract or a :class:`ContractError` naming the file and the
field, so one malformed contract never stops the others from loading (see CONTRACTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ColumnType = Literal["string", "integer", "decimal", "date", "timestamp", "boolean"]
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# Columns every landed row carries; a primary key may use them when the data has no natural key.
SYSTEM_COLUMNS = ("_source_file", "_source_row")


class _Strict(BaseModel):
    # Typos in a contract must fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Strict):
    """One column: type, checks, and where it comes from in the file or API record."""

    type: ColumnType
    required: bool = False
    description: str | None = None
    format: str | None = None
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    references: str | None = None
    source_name: str | None = None
    # Plausible window of a date / timestamp column (ISO dates); default 1970-01-01..2100-12-31.
    earliest: str | None = None
    latest: str | None = None

    @field_validator("earliest", "latest")
    @classmethod
    def _iso_date(cls, v: str | None) -> str | None:
        if v is not None:
            from datetime import date

            try:
                date.fromisoformat(str(v))
            except ValueError as exc:
                raise ValueError(f"must be an ISO date like 1990-01-01 (got {v!r})") from exc
        return None if v is None else str(v)

    @field_validator("references")
    @classmethod
    def _reference_shape(cls, v: str | None) -> str | None:
        if v is not None:
            parse_reference(v)
        return v


def parse_reference(ref: str, own_source: str | None = None) -> tuple[str | None, str, str]:
    """A column reference, ``feed.column`` (a feed of the same source) or ``source.feed.column``, as
    ``(source, feed, column)``; the source of a same-source reference is ``own_source``."""
    parts = ref.split(".")
    if len(parts) == 2:
        return own_source, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError("must be feed.column or source.feed.column")


def _snake_case(v: str) -> str:
    if not _IDENT.match(v):
        raise ValueError("must be lower snake_case")
    return v


def _check_columns(columns: dict[str, ColumnSpec], primary_key: list[str]) -> None:
    for name in columns:
        if not _IDENT.match(name):
            raise ValueError(f"column name {name!r} must be lower snake_case")
    for key in primary_key:
        if key not in columns and key not in SYSTEM_COLUMNS:
            raise ValueError(f"primary_key column {key!r} is not in columns")


class CsvOptions(_Strict):
    delimiter: str = ","
    quotechar: str = '"'
    skip_rows: int = Field(0, ge=0)


class FeedContract(_Strict):
    """One file feed of a source: lands in ``raw.<source>_<feed>``."""

    name: str = ""  # filled from the mapping key
    description: str | None = None
    files: str
    format: Literal["csv", "excel", "jsonl"]
    encodings: list[str] = Field(default_factory=lambda: ["utf-8"], min_length=1)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    sheet: str | int = 0
    # Cell texts that mean "no value" (e.g. "NA" in the Walmart features file).
    null_values: list[str] = Field(default_factory=lambda: [""])
    primary_key: list[str] = Field(min_length=1)
    reject_threshold: float = Field(0.05, ge=0, le=1)
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    @field_validator("encodings")
    @classmethod
    def _known_encodings(cls, v: list[str]) -> list[str]:
        import codecs

        for enc in v:
            try:
                codecs.lookup(enc)
            except LookupError as exc:
                raise ValueError(f"unknown encoding {enc!r}") from exc
        return v

    @model_validator(mode="after")
    def _keys(self) -> FeedContract:
        _check_columns(self.columns, self.primary_key)
        return self


class SourceContract(_Strict):
    """A file source (`connectors/contracts/<source>.yaml`): its feeds, where its files live."""

    source: str
    description: str | None = None
    root: Literal["drops", "shared"] = "drops"
    folder: str | None = None
    feeds: dict[str, FeedContract] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("source")
    @classmethod
    def _source_ident(cls, v: str) -> str:
        return _snake_case(v)

    @model_validator(mode="before")
    @classmethod
    def _name_feeds(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("feeds"), dict):
            data = dict(data)
            data["feeds"] = {
                k: ({**v, "name": k} if isinstance(v, dict) else v) for k, v in data["feeds"].items()
            }
        return data

    @model_validator(mode="after")
    def _references_resolve(self) -> SourceContract:
        for feed in self.feeds.values():
            if not _IDENT.match(feed.name):
                raise ValueError(f"feeds.{feed.name}: feed name must be lower snake_case")
            for col, spec in feed.columns.items():
                ref = spec.references
                if ref is None:
                    continue
                ref_source, ref_feed, ref_col = parse_reference(ref)
                if ref_source is not None:
                    continue
                if ref_feed not in self.feeds or ref_col not in self.feeds[ref_feed].columns:
                    raise ValueError(
                        f"feeds.{feed.name}.columns.{col}.references: unknown feed column {ref!r}"
                    )
        self.load_order()  # raises on a reference cycle
        return self

    @property
    def folder_name(self) -> str:
        return self.folder or self.source

    def table_name(self, feed: str) -> str:
        return f"{self.source}_{feed}"

    @property
    def rejects_table(self) -> str:
        return f"{self.source}_rejects"

    def load_order(self) -> list[str]:
        """Feed names so that a referenced feed loads before the feeds that reference it."""
        deps: dict[str, set[str]] = {}
        for name, feed in self.feeds.items():
            refs = [parse_reference(spec.references) for spec in feed.columns.values() if spec.references]
            deps[name] = {ref_feed for src, ref_feed, _ in refs if src is None and ref_feed != name}
        order: list[str] = []
        while deps:
            ready = sorted(n for n, d in deps.items() if not (d - set(order)))
            if not ready:
                raise ValueError(f"reference cycle between feeds {sorted(deps)}")
            order.extend(ready)
            for n in ready:
                deps.pop(n)
        return order


class HttpAuth(_Strict):
    type: Literal["bearer"]
    token_env: str


class HttpEndpoint(_Strict):
    path: str
    params: dict[str, Any] = Field(default_factory=dict)


class PageNumberPaginator(_Strict):
    type: Literal["page_number"]
    page_param: str = "page"
    total_path: str = "total_pages"
    base_page: int = 1


class CursorPaginator(_Strict):
    """A next-page token in the body (``cursor_path``, dotted), sent back as the ``cursor_param`` query
    parameter; the last page has no token (absent, null or empty)."""

    type: Literal["cursor"]
    cursor_path: str
    cursor_param: str = "cursor"


class LinkPaginator(_Strict):
    """The next page's URL, from a ``Link: <url>; rel="next"`` header (``header: Link``) or a body field
    (``next_url_path``, dotted; absolute or relative to the page); the last page has none. The URL carries the
    query, and must stay on the feed's base URL (host and port): the bearer token is never sent elsewhere."""

    type: Literal["link"]
    next_url_path: str | None = None
    header: Literal["Link"] | None = None

    @model_validator(mode="after")
    def _one_place(self) -> LinkPaginator:
        if (self.next_url_path is None) == (self.header is None):
            raise ValueError("set exactly one of next_url_path (a body field) or header: Link")
        return self


Paginator = Annotated[PageNumberPaginator | CursorPaginator | LinkPaginator, Field(discriminator="type")]


class Incremental(_Strict):
    cursor_param: str
    cursor_field: str
    initial_value: str
    # The stored cursor is sent this much earlier: a record updated in the same second as the newest
    # one landed would otherwise never come back from an API that answers "updated after".
    lookback_seconds: float = Field(1.0, ge=0)


class HttpRetry(_Strict):
    """Retries of one request on 429 / 5xx / timeouts / dropped connections, with exponential backoff
    (``backoff_seconds`` doubled per attempt) or the server's ``Retry-After``, capped at ``max_wait_seconds``."""

    attempts: int = Field(5, ge=1)
    backoff_seconds: float = Field(0.5, ge=0)
    max_wait_seconds: float = Field(60.0, ge=0)


class HttpContract(_Strict):
    """A declarative HTTP feed (`connectors/http/<name>.yaml`): lands in ``raw.<name>``."""

    name: str
    source: str
    description: str | None = None
    base_url_env: str
    auth: HttpAuth | None = None
    endpoint: HttpEndpoint
    data_selector: str = "data"
    paginator: Paginator
    incremental: Incremental | None = None
    retry: HttpRetry = Field(default_factory=HttpRetry)
    primary_key: list[str] = Field(min_length=1)
    reject_threshold: float = Field(0.05, ge=0, le=1)
    null_values: list[str] = Field(default_factory=lambda: [""])
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("name", "source")
    @classmethod
    def _ident(cls, v: str) -> str:
        return _snake_case(v)

    @model_validator(mode="after")
    def _keys(self) -> HttpContract:
        _check_columns(self.columns, self.primary_key)
        return self

    @property
    def table_name(self) -> str:
        return self.name

    @property
    def rejects_table(self) -> str:
        return f"{self.source}_rejects"


@dataclass(frozen=True)
class ContractError:
    """Why one contract file could not be loaded."""

    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}" if self.field else f"{self.path}: {self.message}"


class ContractLoadError(ValueError):
    """Raised by the single-file loaders; carries the structured errors."""

    def __init__(self, errors: list[ContractError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _pydantic_errors(path: Path, exc: ValidationError, drop_prefix: int = 0) -> list[ContractError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"][drop_prefix:])
        if err["type"] == "union_tag_invalid":  # the paginator's `type` names no known pagination style
            ctx = err.get("ctx", {})
            loc = f"{loc}.{ctx.get('discriminator', 'type').strip(chr(39))}" if loc else "type"
            expected = str(ctx.get("expected_tags", "")).replace("'", "")
            msg = f"must be one of {expected} (got {ctx.get('tag')!r})"
        elif err["type"] == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            msg = (
                f"must be one of {expected.replace(chr(39), '').replace(' or ', ', ')} (got {err['input']!r})"
            )
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        elif err["type"] == "missing":
            msg = "field required"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(ContractError(path, loc, msg))
    return out


_C = TypeVar("_C", "SourceContract", "HttpContract")


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        raise ContractLoadError(
            [ContractError(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractLoadError([ContractError(path, "", f"cannot read: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ContractLoadError([ContractError(path, "", "must be a YAML mapping")])
    return data


def _load(path: Path, model: type[_C]) -> _C:
    path = Path(path)
    data = _read_yaml(path)
    try:
        contract = model.model_validate(data)
    except ValidationError as exc:
        raise ContractLoadError(_pydantic_errors(path, exc)) from exc
    contract.path = path
    return contract


def load_source_contract(path: Path) -> SourceContract:
    """Load one file contract; raises :class:`ContractLoadError` naming the file and field."""
    return _load(path, SourceContract)


def load_http_contract(path: Path) -> HttpContract:
    """Load one HTTP contract; raises :class:`ContractLoadError` naming the file and field."""
    return _load(path, HttpContract)


def _discover(directory: Path, loader: Any) -> tuple[list, list[ContractError]]:
    contracts, errors = [], []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            contracts.append(loader(path))
        except ContractLoadError as exc:
            errors.extend(exc.errors)
    return contracts, errors


def load_file_contracts(directory: Path) -> tuple[list[SourceContract], list[ContractError]]:
    """All file contracts of a directory; malformed ones come back as errors, the rest still load."""
    contracts, errors = _discover(directory, load_source_contract)
    seen: dict[str, Path] = {}
    kept = []
    for c in contracts:
        if c.source in seen:
            errors.append(
                ContractError(c.path, "source", f"duplicate source {c.source!r} (also in {seen[c.source]})")
            )
            continue
        seen[c.source] = c.path
        kept.append(c)
    return kept, errors


def discover_http_contracts(directory: Path) -> tuple[list[HttpContract], list[ContractError]]:
    """All HTTP contracts of a directory; malformed ones come back as errors, the rest still load."""
    return _discover(directory, load_http_contract)


def source_dependencies(
    file_contracts: list[SourceContract], http_contracts: list[HttpContract] | None = None
) -> dict[str, set[str]]:
    """Which other sources each source (file source, or HTTP contract name) references: those must be
    landed first, since cross-source references are checked against the landed raw tables."""
    deps: dict[str, set[str]] = {}
    for c in file_contracts:
        refs = [parse_reference(spec.references) for feed in c.feeds.values() for spec in feed.columns.values()
                if spec.references]
        deps[c.source] = {src for src, _, _ in refs if src is not None and src != c.source}
    for h in http_contracts or []:
        deps[h.name] = {parse_reference(spec.references, h.source)[0] for spec in h.columns.values()
                        if spec.references}
    return deps


# Same signature the brief names for file contracts.
discover_file_contracts = load_file_contracts
