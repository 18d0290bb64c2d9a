"""The file connector: reads a source's CSV / csv.gz / Excel / JSON-lines drops per its contract,
validates them (vectorised), and lands accepted rows and rejects in ``raw`` (see CONTRACTS.md).

CSV is parsed by pyarrow (all columns as text) whose invalid-row handler hands us exactly the lines
with the wrong field count, so truncated lines become rejects without a per-row Python loop.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import lzma
import os
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connectors.contracts import FeedContract, SourceContract, parse_reference
from connectors.landing import (
    FeedLandingResult,
    SourceLandingResult,
    feed_load,
    land_batch,
    new_batch_id,
    now_utc,
    rejects_arrow,
    rejects_load,
    to_arrow,
)
from connectors.lookups import loaded_hashes, resolve_references, table_columns
from connectors.validation import json_lines, records_text_frame, reference_key, validate_frame
from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse


class FileReadError(Exception):
    """The file cannot be read at all (one ``unreadable_file`` reject with ``_source_row = 0``)."""


class DropFolderError(FileNotFoundError):
    """A drop folder the company file names does not exist: the message names the folder, the company file and
    the feeds that would have read it (a wrong path must not look like a quiet day with no new files)."""


@dataclass
class ReadResult:
    """One file as text: contract-named columns (None = empty), plus row-level rejects and payloads."""

    frame: pd.DataFrame  # contract columns + _source_row
    payload: pd.Series | pd.DataFrame  # original row (JSON text, or the original text frame), same index
    pre_rejects: pd.DataFrame  # _source_row, kind, reason, payload (truncated lines, bad JSON)
    encoding: str | None = None
    lossy_encoding: bool = False


def in_sample(values: pd.Series, share: float) -> np.ndarray:
    """Rows whose key is in a deterministic ``share`` of all keys: the first 8 hex digits of the key's md5 as a
    fraction of 16**8, below ``share`` (the same keys on every run and machine; empty keys are out)."""
    keys = values.astype("string").str.strip()
    unique = keys.dropna().unique()
    limit = share * 16**8
    keep = {k for k in unique if k and int(hashlib.md5(k.encode("utf-8")).hexdigest()[:8], 16) < limit}
    return keys.isin(keep).fillna(False).to_numpy(dtype=bool)


def _company_sample():
    from lodestar.company import current_company

    company = current_company()
    return company.sample if company is not None else None


def configured_folder(contract: SourceContract) -> tuple[Path, Path | None] | None:
    """The drop folder the configured company's file names for this source, and that file (None: not named)."""
    from lodestar.company import current_company

    company = current_company()
    configured = company.source_folder(contract.source) if company else None
    return (configured, company.path) if configured is not None else None


def source_root(contract: SourceContract, root: Path | None = None) -> Path:
    """The folder a source's files are read from: ``root`` overrides the settings-derived one."""
    settings = get_settings()
    if root is None:
        # A configured company (lodestar.yaml) may put a source's drops at any path.
        configured = configured_folder(contract)
        if configured is not None:
            return configured[0]
        root = settings.drops_dir if contract.root == "drops" else settings.shared_data_dir
    return Path(root) / contract.folder_name


# Byte-order marks name their encoding outright; longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_bytes(data: bytes, encodings: list[str]) -> tuple[str, str, bool]:
    """Text of a file: the encoding its byte-order mark names, else the first listed encoding that
    decodes it cleanly, else the one whose decoding leaves the fewest lines with undecodable bytes
    (ties: listed order), decoded with U+FFFD so exactly those rows can be rejected as ``bad_encoding``."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            # A BOM outranks the contract's list: a UTF-16 "Unicode text" export is never GB18030.
            encodings = [enc]
            break
    for i, enc in enumerate(encodings):
        try:
            text = data.decode(enc)
            return text.removeprefix("\ufeff"), enc, False
        except UnicodeDecodeError:
            if i == 0 and len(encodings) > 1 and _mostly_utf8(data, enc):
                # A UTF-8 file with a few foreign lines: reject those, do not re-read it all as mojibake.
                encodings = encodings[:1]
                break
    # Counting lines, not bytes: a UTF-8 file with one bad line must not lose to a GB18030 reading that
    # turns its Chinese text into valid-looking mojibake with fewer replacement characters.
    best = None
    for i, enc in enumerate(encodings):
        text = data.decode(enc, errors="replace")
        bad_lines = int(pd.Series(text.split("\n"), dtype=object).str.contains("\ufffd", regex=False).sum())
        if best is None or (bad_lines, i) < best[:2]:
            best = (bad_lines, i, enc, text)
    _, _, enc, text = best
    return text.removeprefix("\ufeff"), enc, True


def _mostly_utf8(data: bytes, enc: str) -> bool:
    """Whether a file that failed to decode as UTF-8 is still a UTF-8 file: more of its non-ASCII lines
    are valid UTF-8 than not. GB18030 decodes nearly any bytes, so reading such a file as GB18030 would
    turn every good Chinese line into plausible-looking mojibake instead of rejecting the few bad ones."""
    if enc.replace("-", "").replace("_", "").lower() not in ("utf8", "utf8sig"):
        return False
    valid = invalid = 0
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    return valid > invalid


# A drop decompressed past this is refused rather than allowed to exhaust memory (a "zip bomb").
MAX_TEXT_BYTES = 1 << 30
_ZIP_MAGIC = b"PK\x03\x04"
_COMPRESSED = (
    (b"\x1f\x8b", "gzip", lambda fh: gzip.GzipFile(fileobj=fh)),
    (b"BZh", "bzip2", bz2.BZ2File),
    (b"\xfd7zXZ\x00", "xz", lzma.LZMAFile),
)
# Bytes that never occur in CSV / JSON-lines text in any encoding we read (UTF-16/32 excepted: BOM).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _decompress(data: bytes, kind: str, opener, label: str) -> bytes:
    try:
        with opener(io.BytesIO(data)) as fh:
            out = fh.read(MAX_TEXT_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as exc:
        raise FileReadError(f"{label}: a corrupt or cut-off {kind} file: {exc}") from exc
    if len(out) > MAX_TEXT_BYTES:
        raise FileReadError(f"{label}: {kind} file decompresses to more than {MAX_TEXT_BYTES >> 20} MiB; refused")
    return out


def text_bytes(data: bytes, fmt: str, label: str) -> bytes:
    """The text bytes of a CSV / JSON-lines drop: compressed ones (gzip, bzip2, xz, whatever the name
    says) are opened by their magic number; empty, ZIP and binary files are a :class:`FileReadError`."""
    what = "CSV" if fmt == "csv" else "JSON-lines"
    for magic, kind, opener in _COMPRESSED:
        if data.startswith(magic):
            data = _decompress(data, kind, opener, label)
            break
    if not data:
        raise FileReadError(f"{label}: empty file (0 bytes)")
    if data.startswith(_ZIP_MAGIC):
        raise FileReadError(f"{label}: a ZIP archive (or Excel workbook), not {what} text")
    if any(data.startswith(bom) for bom, enc in _BOMS if enc != "utf-8-sig"):
        return data  # UTF-16/32: NUL bytes are part of the text
    sample = data[: 1 << 16]
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if b"\x00" in sample or controls > max(8, len(sample) // 100):
        raise FileReadError(
            f"{label}: binary content ({controls} control bytes in the first {len(sample):,}), not {what} text"
        )
    return data


def read_stable(path: Path, label: str) -> bytes:
    """A file's bytes, refusing one that changed while it was read (a drop still being written):
    it is logged with what was read, so the next run reads it again once its content has settled."""
    try:
        before = os.stat(path)
        data = _read_all(path)
        after = os.stat(path)
    except OSError as exc:
        raise FileReadError(f"{label}: cannot read: {exc}") from exc
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size:
        raise FileReadError(
            f"{label}: changed while being read ({before.st_size:,} -> {after.st_size:,} bytes); "
            "still being written? It is read again on the next run"
        )
    return data


def _read_all(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _resolve_header(header: list[str], feed: FeedContract, file_label: str) -> dict[str, str]:
    """Contract column -> file header name; exact match first, then case/space-insensitive."""
    norm = {h.strip().lower(): h for h in header}
    mapping, missing = {}, []
    for col, spec in feed.columns.items():
        want = spec.source_name or col
        if want in header:
            mapping[col] = want
        elif want.strip().lower() in norm:
            mapping[col] = norm[want.strip().lower()]
        elif spec.required:
            missing.append(want)
    if missing:
        raise FileReadError(f"{file_label}: header lacks required column(s) {missing}")
    return mapping


def _to_contract_frame(raw: pd.DataFrame, mapping: dict[str, str], feed: FeedContract) -> pd.DataFrame:
    # Arrow compute, not pandas string methods: ~10x less fixed cost per column on files of a few
    # thousand rows, which is most drops.
    nulls = pa.array(sorted(set(feed.null_values)), pa.large_string())
    blank_is_null = "" in feed.null_values
    out = {}
    for col in feed.columns:
        if col not in mapping:
            out[col] = pd.Series(pd.NA, index=raw.index, dtype="string[pyarrow]")
            continue
        arr = pa.array(raw[mapping[col]].astype("string[pyarrow]")).cast(pa.large_string())
        is_null = pc.is_in(arr, value_set=nulls)
        if blank_is_null:
            is_null = pc.or_(is_null, pc.equal(pc.utf8_trim_whitespace(arr), ""))
        kept = pc.if_else(pc.fill_null(is_null, True), pa.scalar(None, pa.large_string()), arr)
        out[col] = pd.Series(pd.arrays.ArrowStringArray(kept), index=raw.index)
    return pd.DataFrame(out, index=raw.index)


def _empty_pre() -> pd.DataFrame:
    return pd.DataFrame({"_source_row": pd.Series(dtype="int64"), "kind": [], "reason": [], "payload": []})


def _delimiter_hint(first_line: str, feed: FeedContract) -> str:
    """" (the header splits on ';' ...)" when another delimiter would yield the contract's columns."""
    wanted = {(spec.source_name or col).strip().lower() for col, spec in feed.columns.items()}
    for delim in (",", ";", "\t", "|"):
        if delim == feed.csv.delimiter:
            continue
        fields = {f.strip().lower() for f in first_line.split(delim)}
        if len(fields) > 1 and fields & wanted:
            return f"; the header splits on {delim!r}, the contract says {feed.csv.delimiter!r} (wrong delimiter?)"
    return ""


def read_csv_text(text: str, feed: FeedContract, file_label: str) -> ReadResult:
    opts = feed.csv
    lines = text.split("\n", opts.skip_rows) if opts.skip_rows else None
    if lines is not None:
        text = lines[-1] if len(lines) > opts.skip_rows else ""
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise FileReadError(f"{file_label}: empty file (no header)")
    try:
        header = next(csv.reader([first_line], delimiter=opts.delimiter, quotechar=opts.quotechar))
    except csv.Error as exc:
        raise FileReadError(f"{file_label}: cannot parse the header line as CSV: {exc}") from exc
    try:
        mapping = _resolve_header(header, feed, file_label)
    except FileReadError as exc:
        raise FileReadError(str(exc) + _delimiter_hint(first_line, feed)) from exc
    repeated = sorted({h for h in mapping.values() if header.count(h) > 1})
    if repeated:
        raise FileReadError(f"{file_label}: header repeats column(s) {repeated}")
    bad: list[tuple[int, int, int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Called only for lines with the wrong field count; number counts the header as row 1.
        bad.append((row.number - 1, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8", "surrogatepass")),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(
                delimiter=opts.delimiter,
                quote_char=opts.quotechar,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeError) as exc:
        raise FileReadError(f"{file_label}: cannot parse as CSV: {exc}") from exc
    raw = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    if len(raw) and _unterminated_quote(text, raw.iloc[-1], opts.quotechar):
        # A quote never closed swallows every later line into the last row's field: the parser
        # cannot say where rows end, so that row (holding those lines) is one truncated reject.
        last = raw.iloc[-1]
        record_no = len(raw) + len(bad)
        line = opts.delimiter.join("" if pd.isna(v) else str(v) for v in last)
        bad.append((record_no, len(header), len(header), line))
        bad.sort()
        raw = raw.iloc[:-1]
        unterminated = record_no
    else:
        unterminated = None
    total = len(raw) + len(bad)
    bad_rows = np.array([b[0] for b in bad], dtype=np.int64)
    raw.index = pd.RangeIndex(len(raw))
    frame = _to_contract_frame(raw, mapping, feed)
    frame["_source_row"] = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), bad_rows)
    pre = _empty_pre()
    if bad:
        pre = pd.DataFrame(
            {
                "_source_row": bad_rows,
                "kind": "truncated",
                "reason": [
                    f"_row: truncated unterminated quoted field runs to the end of the file ({t[:80]})"
                    if n == unterminated
                    else f"_row: truncated expected {e} fields, got {a} ({t[:80]})"
                    for n, e, a, t in bad
                ],
                "payload": [json.dumps({"_line": t}, ensure_ascii=False) for *_, t in bad],
            }
        )
    return ReadResult(frame=frame, payload=raw, pre_rejects=pre)


def _unterminated_quote(text: str, last_row: pd.Series, quote: str) -> bool:
    """Whether the last record is a quoted field left open: an odd number of quote characters, a line
    break inside the last record, and a file that does not end on a closing quote."""
    if text.count(quote) % 2 == 0 or text.rstrip("\r\n").endswith(quote):
        return False
    return any(isinstance(v, str) and "\n" in v for v in last_row)


def _keep_constant(name: str) -> str:
    # NaN / Infinity are not JSON; Python's parser takes them as floats, which would land as null or inf.
    return name


def read_jsonl_text(text: str, feed: FeedContract, file_label: str) -> ReadResult:
    lines = pd.Series(text.splitlines(), dtype=object)
    lines.index = pd.RangeIndex(1, len(lines) + 1)
    lines = lines[lines.str.strip() != ""]
    records = None
    try:
        # One C-level parse of the whole file; only a broken file falls back to line-by-line to find the bad lines.
        records = json.loads("[" + ",".join(lines) + "]", parse_constant=_keep_constant)
        ok_mask = pd.Series(True, index=lines.index)
    except (json.JSONDecodeError, RecursionError):
        pass
    if records is None or len(records) != len(lines):
        # Also when the joined parse counted differently: lines like "1, 2" or "[1" + "2]" are valid
        # JSON only together, so per line is the only way to tie records to their lines.
        records, oks = [], []
        for line in lines:
            try:
                records.append(json.loads(line, parse_constant=_keep_constant))
                oks.append(True)
            except (json.JSONDecodeError, RecursionError):
                oks.append(False)
        ok_mask = pd.Series(oks, index=lines.index, dtype=bool)
    is_obj = pd.Series([isinstance(r, dict) for r in records], index=ok_mask[ok_mask].index, dtype=bool)
    good_index = is_obj[is_obj].index
    records = [r for r in records if isinstance(r, dict)]
    bad_index = lines.index.difference(good_index)
    pre = _empty_pre()
    if len(bad_index):
        texts = lines[bad_index]
        pre = pd.DataFrame(
            {
                "_source_row": bad_index.astype("int64"),
                "kind": "truncated",
                "reason": (
                    "_row: truncated not a complete JSON object (" + texts.str.slice(0, 80) + ")"
                ).to_numpy(),
                "payload": [json.dumps({"_line": t}, ensure_ascii=False) for t in texts],
            }
        )
    header = sorted({k for r in records for k in r})
    mapping = _resolve_header(header, feed, file_label) if records else {}
    raw = records_text_frame(records, mapping.values(), index=good_index)
    payload = lines[good_index]
    frame = _to_contract_frame(raw, mapping, feed)
    frame["_source_row"] = good_index.astype("int64")
    return ReadResult(
        frame=frame.reset_index(drop=True), payload=payload.reset_index(drop=True), pre_rejects=pre
    )


def read_excel_bytes(data: bytes, feed: FeedContract, file_label: str) -> ReadResult:
    if not data:
        raise FileReadError(f"{file_label}: empty file (0 bytes)")
    try:
        raw = pd.read_excel(io.BytesIO(data), sheet_name=feed.sheet, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook; all mean "unreadable"
        raise FileReadError(f"{file_label}: cannot read as Excel: {type(exc).__name__}: {exc}") from exc
    raw.columns = [str(c) for c in raw.columns]
    mapping = _resolve_header(list(raw.columns), feed, file_label)
    repeated = sorted({h for h in mapping.values() if list(raw.columns).count(h) > 1})
    if repeated:
        raise FileReadError(f"{file_label}: header repeats column(s) {repeated}")
    # Excel hands dates over as datetimes: write them back in the contract's format so one parser serves all.
    for col, spec in feed.columns.items():
        if col in mapping and spec.type in ("date", "timestamp"):
            src = raw[mapping[col]]
            is_dt = src.map(lambda v: hasattr(v, "strftime") and not pd.isna(v))
            fmt = (
                spec.format
                if spec.format and spec.format != "ISO8601"
                else ("%Y-%m-%d" if spec.type == "date" else "%Y-%m-%dT%H:%M:%S")
            )
            raw.loc[is_dt, mapping[col]] = src[is_dt].map(lambda v, f=fmt: v.strftime(f))
    text = raw.astype("string[pyarrow]")
    text.index = pd.RangeIndex(len(text))
    frame = _to_contract_frame(text, mapping, feed)
    frame["_source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return ReadResult(frame=frame, payload=text, pre_rejects=_empty_pre())


def read_feed_bytes(data: bytes, feed: FeedContract, file_label: str) -> ReadResult:
    """Parse one file's bytes into contract-named text columns (raises FileReadError if unreadable)."""
    if feed.format == "excel":
        return read_excel_bytes(data, feed, file_label)
    data = text_bytes(data, feed.format, file_label)
    text, encoding, lossy = decode_bytes(data, feed.encodings)
    if feed.format == "csv":
        result = read_csv_text(text, feed, file_label)
    else:
        result = read_jsonl_text(text, feed, file_label)
    result.encoding, result.lossy_encoding = encoding, lossy
    return result


def read_feed_file(path: Path, feed: FeedContract, file_label: str | None = None) -> ReadResult:
    """Read one file of a feed into contract-named text columns (raises FileReadError if unreadable)."""
    label = file_label or str(path)
    return read_feed_bytes(read_stable(path, label), feed, label)


def safe_label(text: str) -> str:
    """A file name fit for a table and a log line: control, bidi and undecodable characters escaped."""
    out = []
    for ch in text:
        if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF and unicodedata.category(ch) != "Cf":
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte the file system name did not decode (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def unsafe_path(path: Path, folder: Path) -> str | None:
    """Why a matched path must not be read, or None: a link leading out of the drop folder, or a name
    carrying control, bidi-override or undecodable characters (a name that lies about what it is)."""
    name = path.name
    if safe_label(name) != name:
        return "file name has control, bidi-override or undecodable characters (path trick?)"
    if path.is_symlink() or any(p.is_symlink() for p in path.parents if folder in p.parents):
        try:
            path.resolve(strict=True).relative_to(folder.resolve())
        except (OSError, RuntimeError):
            return "symbolic link to a missing file or a link loop"
        except ValueError:
            return "symbolic link pointing outside the drop folder; refused"
    return None


def _unreadable(feed: str, file_label: str, sha: str, message: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feed": [feed],
            "_origin": [sha],
            "_source_file": [file_label],
            "_source_row": [0],
            "kind": ["unreadable_file"],
            "reason": [f"_file: unreadable_file {message}"],
            "payload": [None],
        }
    )


@dataclass
class _NewFile:
    label: str
    sha: str
    log: dict  # the file-log row, counts filled by check_files
    read: ReadResult | None = None  # None: unreadable (one reject)
    error: str = ""
    sampled_out: int = 0  # rows of customers outside the company's sample (lodestar.yaml `sample`)


def check_files(
    files: list[_NewFile], feed: FeedContract, refs: dict[str, pd.Index]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate the new files of one feed as one frame: (accepted typed rows, rejects); fills each
    file's log counts. Rows keep their own ``_source_file`` / ``_source_row``, and a key repeated
    inside one file is a ``duplicate_key`` reject, exactly as if each file were validated alone; one
    frame saves the fixed cost of a validation pass per file (~20-60 ms each)."""
    readable = [f for f in files if f.read is not None]
    pre = [f.read.pre_rejects.assign(_source_file=f.label) for f in readable if len(f.read.pre_rejects)]
    pre += [_unreadable(feed.name, f.label, f.sha, f.error) for f in files if f.read is None]
    frames, spans, lossy, start = [], [], [], 0
    for f in readable:
        frame = f.read.frame
        frame["_source_file"] = f.label
        frames.append(frame)
        spans.append((start, start + len(frame), f.read.payload))
        lossy.append(f.read.encoding if f.read.lossy_encoding else None)
        start += len(frame)
    checked_rejects = None
    accepted = None
    if frames:
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        encodings = None
        if any(lossy):
            encodings = pd.Series(
                np.repeat(np.array(lossy, dtype=object), [len(x) for x in frames]), index=frame.index
            )

        def payload_of(bad: np.ndarray) -> pd.Series:
            # JSON only for the rejected rows, file by file: each file has its own header names.
            out = []
            for lo, hi, payload in spans:
                local = np.flatnonzero(bad[lo:hi])
                if len(local):
                    p = payload.iloc[local]
                    p = json_lines(p) if isinstance(p, pd.DataFrame) else p
                    out.append(pd.Series(p.to_numpy(dtype=object), index=local + lo, dtype=object))
            return pd.concat(out) if out else pd.Series([], dtype=object)

        checked = validate_frame(
            frame,
            feed.columns,
            feed.primary_key,
            payload_of,
            refs,
            lossy_encoding=encodings,
            batch_column="_source_file",
        )
        accepted, checked_rejects = checked.accepted, checked.rejects
    parts = [*pre, checked_rejects] if checked_rejects is not None else pre
    rej = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["_source_file", "kind"])
    shas = {f.label: f.sha for f in files}
    rej = rej.assign(feed=feed.name, _origin=rej["_source_file"].map(shas))
    rejected = rej["_source_file"].value_counts()
    checked_rejected = (
        checked_rejects["_source_file"].value_counts()
        if checked_rejects is not None
        else pd.Series(dtype=int)
    )
    for f in files:
        if f.read is None:
            f.log.update(rows_seen=0, rows_accepted=0, rows_rejected=1, status="unreadable")
            continue
        n = len(f.read.frame)
        f.log.update(
            rows_seen=n + len(f.read.pre_rejects),
            rows_accepted=n - int(checked_rejected.get(f.label, 0)),
            rows_rejected=int(rejected.get(f.label, 0)),
            status="loaded",
        )
    return accepted, rej


def _new_file(
    path: Path, folder: Path, feed: FeedContract, source: str, batch_id: str, loaded_at, sample=None
) -> _NewFile:
    """One matched file, read once (its sha256 is of the very bytes parsed) or made an unreadable one."""
    rel = path.relative_to(folder.parent) if folder.parent in path.parents else path
    label = safe_label(str(rel))
    log = {
        "source": source,
        "feed": feed.name,
        "file": label,
        "bytes": 0,
        "_batch_id": batch_id,
        "_loaded_at": loaded_at,
    }
    why = unsafe_path(path, folder)
    if why is not None:
        # Never read what an unsafe path points at; its identity is the name and where it leads.
        target = os.readlink(path) if path.is_symlink() else ""
        sha = hashlib.sha256(f"unsafe\x1f{label}\x1f{target}".encode("utf-8", "surrogateescape")).hexdigest()
        return _NewFile(label, sha, {**log, "sha256": sha}, error=f"{label}: {why}")
    try:
        data = read_stable(path, label)
    except FileReadError as exc:
        sha = hashlib.sha256(f"unreadable\x1f{label}\x1f{exc}".encode("utf-8", "surrogateescape")).hexdigest()
        return _NewFile(label, sha, {**log, "sha256": sha}, error=str(exc))
    sha = hashlib.sha256(data).hexdigest()
    sample = _company_sample() if sample is None else sample
    if sample is not None and sample.column in feed.columns:
        # The file as read under this sample is its own identity: dropping the sample later lands it whole.
        sha = hashlib.sha256(data + f"\x1fsample {sample.column} {sample.customers!r}".encode()).hexdigest()
    nf = _NewFile(label, sha, {**log, "sha256": sha, "bytes": len(data)})
    try:
        nf.read = read_feed_bytes(data, feed, label)
    except FileReadError as exc:
        nf.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - any parser failure is this file's reject, never the batch's
        nf.error = f"{label}: cannot parse as {feed.format}: {type(exc).__name__}: {exc}"
    if nf.read is not None and sample is not None and sample.column in nf.read.frame.columns:
        keep = in_sample(nf.read.frame[sample.column], sample.customers)
        nf.sampled_out = int((~keep).sum())
        if nf.sampled_out:
            # frame and payload are aligned by position (check_files slices the payload per file)
            nf.read.frame = nf.read.frame[keep].reset_index(drop=True)
            nf.read.payload = nf.read.payload[keep].reset_index(drop=True)
    return nf


def _check_files_safely(
    files: list[_NewFile], feed: FeedContract, refs: dict[str, pd.Index]
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """:func:`check_files` on all files at once; should that raise, file by file, so the file that
    breaks validation becomes an ``unreadable_file`` reject and the others still land."""
    try:
        return check_files(files, feed, refs)
    except Exception:  # noqa: BLE001 - isolate the culprit below
        pass
    accepted, rejects = [], []
    for f in files:
        try:
            a, r = check_files([f], feed, refs)
        except Exception as exc:  # noqa: BLE001
            f.read, f.error = None, f"{f.label}: cannot validate: {type(exc).__name__}: {exc}"
            a, r = check_files([f], feed, refs)
        if a is not None:
            accepted.append(a)
        rejects.append(r)
    acc = pd.concat(accepted, ignore_index=True) if accepted else None
    return acc, pd.concat(rejects, ignore_index=True)


def land_file_source(
    contract: SourceContract,
    warehouse: Warehouse,
    feeds: list[str] | None = None,
    root: Path | None = None,
) -> SourceLandingResult:
    """Land the new files of a source's feeds (all, or ``feeds``) into ``raw``; returns per-feed counts.

    Files whose sha256 is in ``raw._file_log`` are skipped; feeds load in reference order so a batch
    can reference keys landed earlier in the same batch. ``root`` overrides the drops/shared folder.
    """
    unknown = sorted(set(feeds or []) - set(contract.feeds))
    if unknown:
        raise ValueError(
            f"{contract.path or contract.source}: unknown feed(s) {unknown}; known: {sorted(contract.feeds)}"
        )
    folder = source_root(contract, root)
    order = [f for f in contract.load_order() if feeds is None or f in feeds]
    configured = configured_folder(contract) if root is None else None
    if configured is not None and not folder.is_dir():
        raise DropFolderError(
            f"drop folder {folder} does not exist: sources.{contract.source}.path in {configured[1]}; feeds "
            f"{', '.join(f'{contract.source}.{f} ({contract.feeds[f].files})' for f in order)} have nothing to read")
    batch_id = new_batch_id(contract.source)
    loaded_at = now_utc()
    sample = _company_sample()
    result = SourceLandingResult(
        source=contract.source, batch_id=batch_id, rejects_table=f"raw.{contract.rejects_table}"
    )
    batch_keys: dict[tuple[str, str], pd.Index] = {}  # (feed, column) -> keys accepted in this batch
    refs = [parse_reference(spec.references) for feed in contract.feeds.values() for spec in feed.columns.values()
            if spec.references]
    referenced = {(ref_feed, ref_col) for src, ref_feed, ref_col in refs if src is None}
    loads, all_rejects, file_rows = [], [], []

    with warehouse.reader() as snap:  # closed before the load writes (one writer per file)
        for feed_name in order:
            feed = contract.feeds[feed_name]
            table = contract.table_name(feed_name)
            fr = FeedLandingResult(
                feed=feed_name,
                table=f"raw.{table}",
                batch_id=batch_id,
                reject_threshold=feed.reject_threshold,
                folder=str(folder),
                files_pattern=feed.files,
                folder_missing=not folder.is_dir(),
            )
            result.feeds[feed_name] = fr
            # is_symlink too: a dangling link is a reject, not silently invisible.
            paths = sorted(p for p in folder.glob(feed.files) if p.is_file() or p.is_symlink())
            fr.files_seen = len(paths)
            done = loaded_hashes(snap, contract.source, feed_name)
            new_files = []
            for path in paths:
                nf = _new_file(path, folder, feed, contract.source, batch_id, loaded_at, sample)
                if nf.sha in done:
                    fr.files_skipped += 1
                    continue
                done.add(nf.sha)
                new_files.append(nf)
            if not new_files:
                continue
            refs = resolve_references(contract.source, feed.columns, snap, batch_keys)
            accepted, rej = _check_files_safely(new_files, feed, refs)
            file_rows += [nf.log for nf in new_files]
            all_rejects.append(rej)
            fr.files_loaded = len(new_files)
            for nf in new_files:
                fr.rows_sampled_out += nf.sampled_out
                fr.rows_seen += nf.log["rows_seen"]
                fr.rows_accepted += nf.log["rows_accepted"]
                fr.rows_rejected += nf.log["rows_rejected"]
            fr.rejects_by_kind = {k: int(n) for k, n in rej["kind"].value_counts().items()}
            if accepted is not None and len(accepted):
                # Across files of one batch the later file wins, as a merge of the files one by one would.
                accepted = accepted.drop_duplicates(subset=feed.primary_key, keep="last")
                for col in feed.columns:
                    if (feed_name, col) in referenced:
                        batch_keys[(feed_name, col)] = pd.Index(reference_key(accepted[col]).dropna())
                loads.append(
                    feed_load(
                        table,
                        to_arrow(accepted, feed.columns, batch_id, loaded_at),
                        feed.columns,
                        feed.primary_key,
                    )
                )
    rejects = pd.concat(all_rejects, ignore_index=True) if all_rejects else None
    if rejects is not None and len(rejects):
        loads.append(rejects_load(contract.rejects_table, rejects_arrow(rejects, batch_id, loaded_at)))
    if loads or file_rows:
        land_batch(f"lodestar_files_{contract.source}", warehouse, loads, file_rows, batch_id=batch_id)
    with warehouse.reader() as snap:
        for fr in result.feeds.values():
            table = fr.table.split(".", 1)[1]
            fr.rows_in_table = snap.row_count("raw", table)
            fr.columns = table_columns(snap, table)
    return result
