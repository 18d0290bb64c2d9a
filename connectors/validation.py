"""Vectorised row validation against a contract's columns: typed accepted rows and reasoned rejects.

Every check is a pandas column operation (no per-row Python loop), so a 200k-row file validates in
well under a second. Reject reasons read ``<column>: <kind> <detail> (<value>)``; a row's ``kind`` is its
first problem in check order (row-level, then per column, then references, then duplicate key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.contracts import ColumnSpec

REJECT_KINDS = (
    "truncated",
    "bad_encoding",
    "missing_required",
    "bad_type",
    "out_of_range",
    "bad_value",
    "unknown_reference",
    "duplicate_key",
    "unreadable_file",
)
REJECT_COLUMNS = ["_source_file", "_source_row", "kind", "reason", "payload"]
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
# The default plausible window of every date / timestamp column (a contract may set earliest/latest).
PLAUSIBLE_EARLIEST = "1970-01-01"
PLAUSIBLE_LATEST = "2100-12-31"
_DEFAULT_FORMAT = {"date": "%Y-%m-%d", "timestamp": "ISO8601"}


@dataclass
class Validated:
    """Result of validating one frame: accepted rows typed per contract, rejects with reasons."""

    accepted: pd.DataFrame
    rejects: pd.DataFrame


class _Problems:
    """Accumulates per-row reasons and the first kind; numpy object arrays touched only where a check failed."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.reason = np.full(len(index), "", dtype=object)
        self.kind = np.full(len(index), "", dtype=object)

    def add(self, mask: pd.Series, kind: str, message: Callable[[np.ndarray], pd.Series | str] | str) -> None:
        m = (
            mask.fillna(False).to_numpy(dtype=bool)
            if isinstance(mask, pd.Series)
            else np.asarray(mask, dtype=bool)
        )
        if not m.any():
            return
        # Messages are built only for the rows that failed (a callable gets the mask): quoting the values
        # of a whole 400k-row column was most of a clean load's validation time.
        message = message(m) if callable(message) else message
        msgs = (
            message.to_numpy(dtype=object)
            if isinstance(message, pd.Series)
            else np.full(m.sum(), message, dtype=object)
        )
        cur = self.reason[m]
        self.reason[m] = np.where(cur == "", msgs, cur + "; " + msgs)
        k = self.kind[m]
        self.kind[m] = np.where(k == "", kind, k)

    @property
    def bad(self) -> pd.Series:
        return pd.Series(self.reason != "", index=self.index)


def _shown(values: pd.Series) -> pd.Series:
    # Reasons quote the offending value, cut so a garbage line does not bloat the table.
    return values.fillna("").astype(str).str.slice(0, 80)


def parse_column(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series, str]:
    """Parse text values to the column type: (typed values, mask of unparseable non-null, detail)."""
    present = values.notna()
    text = values.astype("string[pyarrow]").str.strip()
    if spec.type == "string":
        return values.astype(object).where(present, None), pd.Series(False, index=values.index), ""
    if spec.type == "integer":
        typed, bad = _parse_integer(text, present)
        return typed, bad, "not an integer"
    if spec.type == "decimal":
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        # NaN / inf parse as floats but are no amount anyone means; they would poison every sum.
        bad = present & ~np.isfinite(num.fillna(np.nan))
        return num.where(~bad), bad, "not a number"
    if spec.type in ("date", "timestamp"):
        fmt = spec.format or _DEFAULT_FORMAT[spec.type]
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)
        if spec.type == "date":
            frac = parsed.notna() & (parsed != parsed.dt.normalize())
            parsed = parsed.where(~frac)
        bad = present & parsed.isna()
        return parsed.astype("datetime64[ns]"), bad, f"not a {spec.type} in format {fmt}"
    if spec.type == "boolean":
        low = text.str.lower()
        typed = pd.Series(pd.NA, index=values.index, dtype="boolean")
        typed = typed.mask(low.isin(_TRUE).fillna(False), True).mask(low.isin(_FALSE).fillna(False), False)
        bad = present & typed.isna()
        return typed, bad, "not a boolean"
    raise ValueError(f"unknown column type {spec.type!r}")


# Beyond 2**53 a float no longer holds every integer: "12345678901234567" must not land as ...568.
_EXACT_FLOAT = 2.0**53


def _parse_integer(text: pd.Series, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Exact for plain digit strings (any int64), through float for "1e3" / "5.0" (only where exact)."""
    plain = text.str.fullmatch(r"[+-]?\d+").fillna(False).astype(bool)
    digits = text.str.lstrip("+-").str.lstrip("0").str.len().fillna(0)
    short = plain & (digits <= 18)  # always inside int64
    out = pd.Series(pd.NA, index=text.index, dtype="Int64")
    if short.any():
        unsigned = pc.utf8_ltrim(pa.array(text[short]), characters="+")  # arrow refuses a leading "+"
        out[short] = pd.array(pc.cast(unsigned, pa.int64()), dtype="Int64")
    longer = plain & ~short & (digits == 19)  # 20+ digits never fit int64
    for i in np.flatnonzero(longer.to_numpy()):  # 19 digits: rare, checked one by one
        v = int(text.iloc[i])
        if -(2**63) <= v < 2**63:
            out.iloc[i] = v
    other = present & ~plain
    if other.any():
        num = pd.to_numeric(text[other], errors="coerce").astype("float64")
        ok = np.isfinite(num) & (num % 1 == 0) & (num.abs() < _EXACT_FLOAT)
        out[num[ok].index] = num[ok].astype("int64")
    return out, present & out.isna()


def out_of_plausible_range(
    parsed: pd.Series, values: pd.Series, bad: pd.Series, spec: ColumnSpec
) -> tuple[pd.Series, str]:
    """Dates outside the column's plausible window (default 1970-01-01..2100-12-31): 1900-01-01 and
    2999-12-31 are placeholders or typos, not business dates. Also catches dates beyond pandas' range
    (after 2262), which the parser could only call unparseable: (mask, window text)."""
    earliest = pd.Timestamp(spec.earliest or PLAUSIBLE_EARLIEST)
    latest = pd.Timestamp(spec.latest or PLAUSIBLE_LATEST) + pd.Timedelta(days=1)
    outside = parsed.notna() & ((parsed < earliest) | (parsed >= latest))
    # Unparseable in nanoseconds but a valid calendar date (year 2263..9999 or before 1677): implausible.
    fmt = spec.format or _DEFAULT_FORMAT[spec.type]
    for i in np.flatnonzero(bad.to_numpy()):
        raw = str(values.iloc[i]).strip()
        try:
            when = datetime.fromisoformat(raw) if fmt == "ISO8601" else datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if not earliest.to_pydatetime() <= when < latest.to_pydatetime():
            outside.iloc[i] = True
    window = f"{earliest.date()}..{(latest - pd.Timedelta(days=1)).date()}"
    return outside, window


def reference_key(values: pd.Series) -> pd.Series:
    """Text form used to compare a referencing value with referenced ones (types may differ)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    if pd.api.types.is_float_dtype(values):
        return values.map(repr).where(values.notna(), None)  # pragma: no cover - floats as keys are rare
    return values.astype("string[pyarrow]").astype(object).where(values.notna(), None)


def _check_column(
    col: str, spec: ColumnSpec, values: pd.Series, probs: _Problems, required: bool
) -> pd.Series:
    """Required / type / range / allowed-values checks of one column; returns the typed values."""

    def shown(m: np.ndarray) -> pd.Series:
        return _shown(values.iloc[m])

    if required:
        probs.add(values.isna(), "missing_required", f"{col}: missing_required no value ()")
    parsed, bad, detail = parse_column(values, spec)
    if spec.type in ("date", "timestamp"):
        implausible, window = out_of_plausible_range(parsed, values, bad, spec)
        bad = bad & ~implausible
    probs.add(bad, "bad_type", lambda m: f"{col}: bad_type {detail} (" + shown(m) + ")")
    if spec.type in ("date", "timestamp"):
        probs.add(
            implausible,
            "out_of_range",
            lambda m: f"{col}: out_of_range implausible date, outside {window} (" + shown(m) + ")",
        )
        parsed = parsed.where(~implausible)
    if spec.type != "string":
        parsed = parsed.where(~bad)
    if spec.type in ("integer", "decimal"):
        num = parsed.astype("float64")
        if spec.min is not None:
            probs.add(
                num < spec.min,
                "out_of_range",
                lambda m: f"{col}: out_of_range below min {spec.min:g} (" + shown(m) + ")",
            )
        if spec.max is not None:
            probs.add(
                num > spec.max,
                "out_of_range",
                lambda m: f"{col}: out_of_range above max {spec.max:g} (" + shown(m) + ")",
            )
    if spec.values is not None:
        allowed = sorted(set(spec.values))
        stripped = values.astype("string[pyarrow]").str.strip()
        outside = values.notna() & ~stripped.isin(allowed).fillna(False)
        probs.add(outside, "bad_value", lambda m: f"{col}: bad_value not one of {allowed} (" + shown(m) + ")")
        if spec.type == "string":
            parsed = stripped.astype(object).where(stripped.notna(), None)
    return parsed


def validate_frame(
    frame: pd.DataFrame,
    columns: Mapping[str, ColumnSpec],
    primary_key: list[str],
    payload: pd.Series | pd.DataFrame | Callable[[np.ndarray], pd.Series],
    reference_values: Mapping[str, Iterable[str]] | None = None,
    lossy_encoding: str | pd.Series | None = None,
    batch_column: str | None = None,
) -> Validated:
    """Check every row of ``frame`` (text values, None = empty) against the contract columns.

    ``frame`` holds the contract columns plus ``_source_file`` / ``_source_row``; ``payload`` is the
    original row as JSON text (same index), or the original
    text frame, turned into JSON for the rejected rows only, or a function of the reject mask returning
    the rejected rows' payloads (same index). ``reference_values`` maps a column to the allowed keys
    (already the referenced table plus the current batch). ``lossy_encoding`` names the encoding when
    the file did not decode cleanly (or per row, None where it did): rows holding U+FFFD are then
    rejected as ``bad_encoding``. ``batch_column`` (e.g. ``_source_file``) scopes the duplicate-key check
    to rows with the same value there, so several files validate as one frame with the per-file rule.
    """
    probs = _Problems(frame.index)
    if lossy_encoding is not None:
        enc = (
            lossy_encoding
            if isinstance(lossy_encoding, pd.Series)
            else pd.Series(lossy_encoding, index=frame.index, dtype=object)
        )
        hit = pd.Series(False, index=frame.index)
        for col in columns:
            hit |= frame[col].astype("string[pyarrow]").str.contains("\ufffd", regex=False).fillna(False)
        probs.add(
            hit & enc.notna(),
            "bad_encoding",
            lambda m: "_row: bad_encoding undecodable bytes for " + enc.iloc[m].astype(str) + " (\ufffd)",
        )

    # A primary key column is required even when the contract forgets to say so.
    typed = {
        col: _check_column(col, spec, frame[col], probs, spec.required or col in primary_key)
        for col, spec in columns.items()
    }

    for col, allowed in (reference_values or {}).items():
        keys = reference_key(typed[col])
        allowed_index = pd.Index(list(allowed) if not isinstance(allowed, pd.Index) else allowed)
        unknown = keys.notna() & ~keys.isin(allowed_index) & ~probs.bad
        probs.add(
            unknown,
            "unknown_reference",
            lambda m, col=col: (
                f"{col}: unknown_reference {columns[col].references} (" + _shown(frame[col].iloc[m]) + ")"
            ),
        )

    out = pd.DataFrame(typed, index=frame.index)
    for sys_col in ("_source_file", "_source_row"):
        out[sys_col] = frame[sys_col]
    ok = ~probs.bad
    scope = [batch_column] if batch_column and batch_column not in primary_key else []
    dup = out[ok].duplicated(subset=scope + list(primary_key), keep="first")
    if dup.any():
        dup = dup.reindex(frame.index, fill_value=False)

        def dup_message(m: np.ndarray) -> pd.Series:
            key_text = _shown(out[primary_key[0]].iloc[m].astype("string[pyarrow]"))
            for k in primary_key[1:]:
                key_text = key_text + "|" + _shown(out[k].iloc[m].astype("string[pyarrow]"))
            return f"{'+'.join(primary_key)}: duplicate_key repeated in batch (" + key_text + ")"

        probs.add(dup, "duplicate_key", dup_message)
        ok = ~probs.bad

    bad_payload = payload(~ok.to_numpy(dtype=bool)) if callable(payload) else payload[~ok]
    if isinstance(bad_payload, pd.DataFrame):
        bad_payload = json_lines(bad_payload)
    rejects = pd.DataFrame(
        {
            "_source_file": frame["_source_file"][~ok],
            "_source_row": frame["_source_row"][~ok],
            "kind": pd.Series(probs.kind, index=frame.index)[~ok],
            "reason": pd.Series(probs.reason, index=frame.index)[~ok],
            "payload": bad_payload,
        }
    )
    return Validated(accepted=out[ok].reset_index(drop=True), rejects=rejects.reset_index(drop=True))


def json_lines(raw: pd.DataFrame) -> pd.Series:
    """Each row of a text frame as one JSON object (original field names), same index."""
    if raw.empty:
        return pd.Series([], dtype=object, index=raw.index)
    lines = raw.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return pd.Series(lines, index=raw.index, dtype=object)


def records_text_frame(
    records: list[dict], keys: Iterable[str], index: pd.Index | None = None
) -> pd.DataFrame:
    """Values of the given keys as text (missing key = NA), keeping the JSON spelling of numbers.

    Built per key as an object column: letting pandas infer a column first would turn -5 into -5.0.
    """
    idx = index if index is not None else pd.RangeIndex(len(records))
    cols = {
        k: pd.Series([r.get(k) for r in records], index=idx, dtype=object).astype("string[pyarrow]")
        for k in keys
    }
    return pd.DataFrame(cols, index=idx)
