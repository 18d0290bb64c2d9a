"""Propose a file contract from one sample file (`lodestar contract infer`).

A business user exports a CSV / Excel / JSON-lines file from their ERP, CRM or till and gets back a
contract YAML (the format of ``connectors/contracts/*.yaml``) they can read, correct and drop in:
encoding, delimiter, header row, column types and date formats, required columns, primary-key
candidates (checked for uniqueness), references to feeds Lodestar already knows (by value overlap) and
canonical column names for common Chinese header words (``header_words.yaml`` beside this module).

Types are decided with the connector's own parser (:func:`connectors.validation.parse_column`), so a
proposed type accepts every sample value exactly as the load will. Whatever is a guess is said in
``Inference.notes`` and as comments at the top of the YAML.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import pandas as pd
import yaml

from connectors.contracts import ColumnSpec, load_file_contracts, parse_reference
from connectors.validation import parse_column
from lodestar.warehouse import Warehouse

HEADER_WORDS_FILE = Path(__file__).with_name("header_words.yaml")
CONTRACTS_DIR = Path(__file__).with_name("contracts")

# Tried in this order; a format is chosen only when it parses every non-empty sample value.
# Day-first before month-first: Chinese and European exports write 03/01/19 for 3 January.
DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日",
    "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y", "%d.%m.%Y", "%d-%m-%Y",
]
TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "ISO8601",
]
# Cell texts exports use for "no value" besides the empty cell.
NULL_TOKENS = ["NA", "N/A", "NULL", "null", "None", "-", "--", "#N/A", "无"]
_BOOL_TOKENS = {"true", "false", "t", "f", "yes", "no", "y", "n", "是", "否"}
SAMPLE_ROWS = 200_000
# A column references a known key when at least this share of its distinct values are keys there.
REFERENCE_OVERLAP = 0.95
_KEYISH = re.compile(r"(_id|_no|_code|id|编号|编码|代码|号)$", re.IGNORECASE)


class InferError(ValueError):
    """The sample cannot be read well enough to propose anything (names the file and why)."""


@dataclass
class ColumnGuess:
    header: str
    name: str
    type: str
    format: str | None
    required: bool
    distinct: int
    nulls: int
    canonical: bool  # name came from the header dictionary


@dataclass
class Inference:
    """What was inferred from one sample, the proposed contract and the doubts."""

    path: Path
    source: str
    feed: str
    format: str
    encoding: str
    bom: bool
    delimiter: str | None
    skip_rows: int
    rows: int
    columns: list[ColumnGuess]
    primary_key: list[str]
    key_candidates: list[list[str]]
    references: dict[str, tuple[str, float]]  # column -> (source.feed.column, overlap)
    null_values: list[str]
    notes: list[str] = field(default_factory=list)

    def contract(self) -> dict:
        """The proposed contract as a plain mapping in the ``connectors/contracts/*.yaml`` shape."""
        cols: dict[str, dict] = {}
        for c in self.columns:
            spec: dict = {"type": c.type}
            if c.required:
                spec["required"] = True
            if c.format:
                spec["format"] = c.format
            if c.name in self.references:
                spec["references"] = self.references[c.name][0]
            if c.header != c.name:
                spec["source_name"] = c.header
            cols[c.name] = spec
        feed: dict = {
            "description": f"Inferred from {self.path.name} ({self.rows:,} sample rows); review before use.",
            "files": _file_glob(self.path),
            "format": self.format,
        }
        if self.format != "excel":
            feed["encodings"] = ["utf-8", "gb18030"] if self.encoding in ("utf-8", "gb18030") else ["utf-8", self.encoding]
        if self.format == "csv" and (self.delimiter != "," or self.skip_rows):
            feed["csv"] = {"delimiter": self.delimiter, "skip_rows": self.skip_rows}
        if self.null_values != [""]:
            feed["null_values"] = self.null_values
        feed["primary_key"] = self.primary_key
        feed["reject_threshold"] = 0.05
        feed["columns"] = cols
        return {
            "source": self.source,
            "description": f"{self.source} (contract proposed by `lodestar contract infer`)",
            "root": "drops",
            "folder": self.source,
            "feeds": {self.feed: feed},
        }

    def yaml_text(self) -> str:
        """The contract YAML, the doubts as comments on top (YAML ignores them)."""
        head = [f"# Proposed by `lodestar contract infer` from {self.path.name}: review, then save as",
                f"# connectors/contracts/{self.source}.yaml (or merge the feed into the existing one)."]
        head += [f"# UNSURE: {n}" for n in self.notes]
        body = yaml.safe_dump(self.contract(), allow_unicode=True, sort_keys=False, width=120,
                              default_flow_style=None)
        return "\n".join(head) + "\n" + body


def _file_glob(path: Path) -> str:
    """A glob for the feed's future files: from the first number after a ``_``/``-`` on, ``*``
    (orders_2024-05.csv -> orders_*.csv)."""
    stem, dot, ext = path.name.partition(".")
    m = re.match(r"^(.*?[_\-])\d", stem)
    return f"{m.group(1)}*{dot}{ext}" if m else path.name


def load_header_words(path: Path = HEADER_WORDS_FILE) -> dict[str, str]:
    """Normalised header spelling -> canonical column name, from ``header_words.yaml``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    for canonical, spellings in data.items():
        for s in [canonical, *spellings]:
            out.setdefault(_normalise(str(s)), canonical)
    return out


def _normalise(header: str) -> str:
    h = header.strip().replace("（", "(").replace("）", ")").replace("：", ":")
    h = re.sub(r"\([^)]*\)$", "", h).strip()  # a unit in brackets: 数量(箱), 金额(元)
    return re.sub(r"[\s_\-:]+", "", h).lower()


def _snake(header: str) -> str:
    ascii_part = re.sub(r"[^0-9a-zA-Z]+", "_", header).strip("_")
    ascii_part = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_part).lower()
    return re.sub(r"_+", "_", ascii_part)


def canonical_names(headers: list[str], words: dict[str, str]) -> tuple[list[str], list[bool], list[str]]:
    """Column names for a header: dictionary word, else snake_case of the header, else ``col_<n>``;
    returns (names, from_dictionary, notes)."""
    names, canon, notes = [], [], []
    for i, h in enumerate(headers, start=1):
        word = words.get(_normalise(h))
        if word is None and re.search(r"[\u4e00-\u9fff]", h):
            # A partly-known Chinese header: the longest dictionary word it contains (订单日期2 -> order_date).
            hits = [k for k in words if re.search(r"[\u4e00-\u9fff]", k) and len(k) >= 2 and k in _normalise(h)]
            if hits:
                word = words[max(hits, key=len)]
                notes.append(f"header {h!r} named {word!r} because it contains {max(hits, key=len)!r}")
        if word is not None:
            name, from_dict = word, True
        else:
            name, from_dict = _snake(h), False
            if not name or not re.match(r"^[a-z_]", name):
                name = f"col_{i}" if not name else f"c_{name}"
                notes.append(f"no canonical name for header {h!r}: named {name!r}; rename it")
        if name in names:
            n = 2
            while f"{name}_{n}" in names:
                n += 1
            notes.append(f"headers {headers[names.index(name)]!r} and {h!r} both map to {name!r}: second is {name}_{n}")
            name = f"{name}_{n}"
        names.append(name)
        canon.append(from_dict)
    return names, canon, notes


# ---------------------------------------------------------------- reading the sample


def _decode(data: bytes) -> tuple[str, str, bool, list[str]]:
    bom = data.startswith(b"\xef\xbb\xbf")
    for enc in ("utf-8", "gb18030"):
        try:
            text = data.decode(enc)
            return text.removeprefix("\ufeff"), enc, bom, []
        except UnicodeDecodeError:
            continue
    text = data.decode("cp1252", errors="replace")
    return text, "cp1252", False, ["neither UTF-8 nor GB18030 decodes the file: read as cp1252 (Windows Latin)"]


def _sniff_delimiter(lines: list[str]) -> tuple[str, list[str]]:
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter, []
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines[:50]) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best, [f"delimiter guessed as {best!r} by frequency (the sniffer could not decide)"]


def _header_row(lines: list[str], delimiter: str) -> tuple[int, list[str]]:
    """Leading title lines (fewer fields than the table) to skip before the header."""
    widths = [len(next(csv.reader([line], delimiter=delimiter))) if line.strip() else 0 for line in lines[:60]]
    body = [w for w in widths[1:] if w]
    if not body:
        return 0, []
    modal = max(set(body), key=body.count)
    skip = next((i for i, w in enumerate(widths) if w == modal), 0)
    return skip, ([f"skipped {skip} title line(s) before the header"] if skip else [])


def read_sample(path: Path, sample_rows: int = SAMPLE_ROWS) -> tuple[pd.DataFrame, dict]:
    """The sample as text cells (empty = ""), and how it was read (format, encoding, delimiter, ...)."""
    path = Path(path)
    name = path.name.lower()
    info: dict = {"notes": [], "delimiter": None, "skip_rows": 0, "encoding": "utf-8", "bom": False}
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        info["format"] = "excel"
        try:
            raw = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl", nrows=sample_rows)
        except Exception as exc:  # openpyxl raises many types for a corrupt workbook
            raise InferError(f"{path}: cannot read as Excel: {type(exc).__name__}: {exc}") from exc
        raw.columns = [str(c) for c in raw.columns]
        # Excel cells come as datetimes: written in ISO so the date detection sees one format.
        frame = raw.apply(lambda s: s.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                                          else (v.strftime("%Y-%m-%d %H:%M:%S").removesuffix(" 00:00:00")
                                                if hasattr(v, "strftime") else str(v))))
        return frame.astype(str), info
    try:
        data = path.read_bytes()
        if name.endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InferError(f"{path}: cannot read: {exc}") from exc
    text, enc, bom, notes = _decode(data)
    info.update(encoding=enc, bom=bom)
    info["notes"] += notes
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        info["format"] = "jsonl"
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False, nrows=sample_rows)
        except ValueError as exc:
            raise InferError(f"{path}: not JSON lines: {exc}") from exc
        # Keep the JSON spelling of each value as text, as the connector does.
        frame = frame.apply(lambda s: s.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)))
        return frame.astype(str), info
    info["format"] = "csv"
    lines = text.split("\n", 80)[:80]
    if not any(line.strip() for line in lines):
        raise InferError(f"{path}: empty file (no header)")
    delimiter, notes = _sniff_delimiter(lines)
    skip, skip_notes = _header_row(lines, delimiter)
    info.update(delimiter=delimiter, skip_rows=skip)
    info["notes"] += notes + skip_notes
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skiprows=skip, nrows=sample_rows, on_bad_lines="skip", engine="python")
    except (pd.errors.ParserError, ValueError) as exc:
        raise InferError(f"{path}: cannot parse as CSV with delimiter {delimiter!r}: {exc}") from exc
    if len(frame) == sample_rows:
        info["notes"].append(f"only the first {sample_rows:,} rows were examined")
    header = list(frame.columns)
    if sum(_looks_like_value(h) for h in header) > len(header) / 2:
        info["notes"].append("the first row looks like data, not a header: the connector needs a header row")
    return frame, info


def _looks_like_value(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.,/: ]+", str(text).strip()))


# ---------------------------------------------------------------- types


def _ambiguous(formats: list[str]) -> bool:
    """Both a day-first and the matching month-first format parse every value (all days <= 12)."""
    return any(f.replace("%d/%m", "%m/%d") in formats for f in formats if "%d/%m" in f)


def guess_type(values: pd.Series) -> tuple[str, str | None, list[str]]:
    """(type, format, notes) for a column of text cells (None = empty) using the connector's parser."""
    # Distinct values decide the type as well as all rows do, at a fraction of the parsing.
    present = pd.Series(values.dropna().unique(), dtype=object)
    if present.empty:
        return "string", None, ["no value in the sample: typed string"]

    def all_parse(type_: str, fmt: str | None = None) -> bool:
        _, bad, _ = parse_column(present, ColumnSpec(type=type_, format=fmt))
        return not bool(bad.any())

    stripped = present.str.strip()
    # Codes with leading zeros (00123) stay text: an integer would drop the zeros.
    leading_zero = stripped.str.match(r"^0\d").any()
    if not leading_zero and stripped.str.fullmatch(r"[-+]?\d{1,18}").all():
        return "integer", None, []
    if not leading_zero and all_parse("decimal") and stripped.str.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?").all():
        return "decimal", None, []
    if set(stripped.str.lower()) <= _BOOL_TOKENS - {"是", "否"} and len(set(stripped.str.lower())) <= 2:
        return "boolean", None, []
    notes: list[str] = []
    date_fits = [f for f in DATE_FORMATS if all_parse("date", f)]
    if date_fits:
        if _ambiguous(date_fits):
            notes.append(f"day/month order ambiguous ({' or '.join(date_fits[:2])}): chose {date_fits[0]}")
        return "date", date_fits[0], notes
    ts_fits = [f for f in TIMESTAMP_FORMATS if all_parse("timestamp", f)]
    if ts_fits:
        fmt = ts_fits[0]
        if _ambiguous(ts_fits):
            notes.append(f"day/month order ambiguous ({' or '.join(ts_fits[:2])}): chose {fmt}")
        return "timestamp", (None if fmt == "ISO8601" else fmt), notes
    if stripped.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?").mean() > 0.5:
        notes.append("numbers with thousands separators (1,234.5) are read as text: export without them")
    return "string", None, notes


# ---------------------------------------------------------------- keys and references


def key_candidates(frame: pd.DataFrame, names: list[str], max_pool: int = 10, max_width: int = 4,
                   integer_names: frozenset[str] = frozenset()) -> list[list[str]]:
    """Minimal column sets whose values are present and unique on every sample row, best first.

    Single columns first (key-like names first); when none is unique, the smallest combinations of
    two, three, then four columns among the ``max_pool`` likeliest (key-like names, then dimension-like
    columns with few distinct values, which is what a composite key of an export is made of: a month, a
    type, a code). The smallest width that finds a unique set ends the search, so every set returned is
    minimal. An integer
    column (``integer_names``) is a key, alone or in a set, only when its name says so (a count is
    unique across a few rows by accident), or as the last resort when nothing else is unique. Among sets of one width, shorter values win (a code over its
    description)."""
    complete = [n for n in names if frame[n].notna().all()]
    usable = [n for n in complete if n not in integer_names or _KEYISH.search(n)]
    singles = [[n] for n in usable if frame[n].is_unique]
    singles.sort(key=lambda k: (not _KEYISH.search(k[0]), names.index(k[0])))
    if singles:
        return singles
    rows = max(len(frame), 1)
    pool = sorted(usable, key=lambda n: (not _KEYISH.search(n), frame[n].nunique() / rows, names.index(n)))
    pool = pool[:max_pool]
    width_of = {n: frame[n].astype(str).str.len().mean() for n in pool}
    found: list[list[str]] = []
    for width in range(2, max_width + 1):
        found = [list(c) for c in combinations(pool, width) if not frame.duplicated(subset=list(c)).any()]
        found.sort(key=lambda c: (-sum(bool(_KEYISH.search(n)) for n in c), sum(width_of[n] for n in c)))
        if found:
            break
    # Last resort: an integer column that happens to be unique (flagged by the caller's notes).
    return found[:5] or [[n] for n in complete if n in integer_names and n not in usable and frame[n].is_unique]


@dataclass
class KnownKey:
    ref: str  # source.feed.column
    values: pd.Index
    where: str  # "raw.erp_customers" or a sample file path


def known_keys(contracts_dir: Path = CONTRACTS_DIR, warehouse: Warehouse | None = None,
               exclude: tuple[str, str] | None = None) -> list[KnownKey]:
    """Single-column primary keys of the feeds Lodestar knows, with their values: from the landed raw
    tables when the warehouse has them, else from the feed's first file on disk."""
    from connectors.files import FileReadError, read_feed_file, source_root
    from connectors.lookups import reference_values

    contracts, _ = load_file_contracts(contracts_dir)
    out: list[KnownKey] = []
    snap_cm = warehouse.reader() if warehouse is not None and warehouse.path.exists() else None
    snap = snap_cm.__enter__() if snap_cm else None
    try:
        for c in contracts:
            for feed in c.feeds.values():
                if len(feed.primary_key) != 1 or feed.primary_key[0].startswith("_"):
                    continue
                if exclude == (c.source, feed.name):
                    continue
                col = feed.primary_key[0]
                ref = f"{c.source}.{feed.name}.{col}"
                table = c.table_name(feed.name)
                if snap is not None and snap.table_exists("raw", table):
                    out.append(KnownKey(ref, reference_values(snap, table, col), f"raw.{table}"))
                    continue
                files = sorted(p for p in source_root(c).glob(feed.files) if p.is_file())
                if not files or files[0].stat().st_size > 50 << 20:
                    continue
                try:
                    read = read_feed_file(files[0], feed)
                except FileReadError:
                    continue
                vals = read.frame[col].dropna().astype(str).str.strip()
                out.append(KnownKey(ref, pd.Index(vals.unique()), str(files[0])))
    finally:
        if snap_cm:
            snap_cm.__exit__(None, None, None)
    return out


def find_references(frame: pd.DataFrame, guesses: list[ColumnGuess], keys: list[KnownKey],
                    primary_key: list[str]) -> tuple[dict[str, tuple[str, float]], list[str]]:
    """Columns whose values are (nearly) all keys of a known feed; weaker overlaps become notes."""
    refs: dict[str, tuple[str, float]] = {}
    notes: list[str] = []
    for g in guesses:
        if g.type not in ("string", "integer") or g.name in primary_key or g.distinct < 2:
            continue
        # Small integers (quantities, counts) overlap any integer key 1..N: an integer column is a
        # reference candidate only when its name says it is a key.
        if g.type == "integer" and not _KEYISH.search(g.name):
            continue
        values = pd.Index(frame[g.name].dropna().astype(str).str.strip().unique())
        best: tuple[float, KnownKey] | None = None
        for k in keys:
            if len(k.values) < 3:
                continue  # a tiny key set (tiers A/B/C) overlaps anything
            share = float(values.isin(k.values).mean())
            if share > 0 and (best is None or share > best[0] or (share == best[0] and k.ref.endswith("." + g.name))):
                best = (share, k)
        if best is None:
            continue
        share, k = best
        if share >= REFERENCE_OVERLAP:
            refs[g.name] = (k.ref, share)
            if not k.where.startswith("raw."):
                src, ref_feed, _ = parse_reference(k.ref)
                notes.append(f"{g.name}: references {k.ref} (matched on its file {k.where}); the load checks it "
                             f"against raw.{src}_{ref_feed}, so land {src} first")
            if share < 1:
                notes.append(f"{g.name}: {share:.0%} of its values are keys of {k.ref} ({k.where}); the rest would "
                             "be rejected as unknown_reference")
        elif share >= 0.5:
            notes.append(f"{g.name}: {share:.0%} of its values are keys of {k.ref} ({k.where}): a reference? not added")
    return refs, notes


# ---------------------------------------------------------------- the whole inference


def infer_contract(path: Path, source: str, feed: str, contracts_dir: Path = CONTRACTS_DIR,
                   warehouse: Warehouse | None = None, sample_rows: int = SAMPLE_ROWS,
                   header_words: dict[str, str] | None = None) -> Inference:
    """Propose a contract for ``path`` as feed ``feed`` of source ``source`` (see the module docstring)."""
    path = Path(path)
    for label, ident in (("source", source), ("feed", feed)):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", ident):
            raise InferError(f"--{label} {ident!r} must be lower snake_case (e.g. erp, orders)")
    frame, info = read_sample(path, sample_rows)
    if frame.shape[1] == 0 or frame.empty:
        raise InferError(f"{path}: no data rows under the header")
    notes = list(info["notes"])
    headers = [str(h) for h in frame.columns]
    names, canon, name_notes = canonical_names(headers, header_words or load_header_words())
    notes += name_notes
    frame.columns = names
    null_values = [""]
    stripped = frame.apply(lambda s: s.str.strip())
    for token in NULL_TOKENS:
        if (stripped == token).any().any():
            null_values.append(token)
    if len(null_values) > 1:
        notes.append(f"cells {null_values[1:]} read as 'no value' (null_values); drop any that is a real value")
    text = stripped.where(~stripped.isin(null_values), None)

    guesses: list[ColumnGuess] = []
    for header, name, from_dict in zip(headers, names, canon, strict=True):
        type_, fmt, type_notes = guess_type(text[name])
        notes += [f"{name}: {n}" for n in type_notes]
        nulls = int(text[name].isna().sum())
        guesses.append(ColumnGuess(header, name, type_, fmt, nulls == 0, int(text[name].nunique()), nulls, from_dict))
    optional = [g.name for g in guesses if not g.required and g.nulls < len(text)]
    if any(g.required for g in guesses):
        notes.append("required = no empty cell in the sample" + (f"; optional: {optional}" if optional else ""))

    # A measure (decimal) or a flag is unique by accident, never a key.
    candidates = key_candidates(text, [g.name for g in guesses if g.type not in ("decimal", "boolean")],
                                integer_names=frozenset(g.name for g in guesses if g.type == "integer"))
    if candidates:
        primary_key = candidates[0]
        if len(candidates) > 1:
            notes.append(f"primary key {primary_key} chosen among unique candidates {candidates[:5]}")
    else:
        primary_key = ["_source_file", "_source_row"]
        notes.append("no column or set of up to four columns is unique: rows are identified by file and row number "
                     "(_source_file, _source_row), so a re-exported file with shifted rows loads again")
    keys = known_keys(contracts_dir, warehouse, exclude=(source, feed))
    refs, ref_notes = find_references(text, guesses, keys, primary_key)
    notes += ref_notes
    return Inference(
        path=path, source=source, feed=feed, format=info["format"], encoding=info["encoding"], bom=info["bom"],
        delimiter=info["delimiter"], skip_rows=info["skip_rows"], rows=len(text), columns=guesses,
        primary_key=primary_key, key_candidates=candidates, references=refs, null_values=null_values, notes=notes,
    )
