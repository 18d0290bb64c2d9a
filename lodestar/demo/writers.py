"""Writers that put demo data on disk the way each source system would, following the feed contracts."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from lodestar.demo import badrows
from lodestar.demo.common import rng
from lodestar.demo.xlsx import xlsx_bytes
from lodestar.files import sha256_file  # noqa: F401  (re-exported: the generator and its tests import it here)
from lodestar.settings import PROJECT_ROOT

CONTRACTS_DIR = PROJECT_ROOT / "connectors" / "contracts"
BAD_ROW_COLUMNS = ["source", "feed", "file", "row", "kind", "column", "detail"]


def load_contract(source: str, contracts_dir: Path = CONTRACTS_DIR) -> dict:
    path = contracts_dir / f"{source}.yaml"
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    if spec.get("source") != source:
        raise ValueError(f"{path}: 'source' is {spec.get('source')!r}, expected {source!r}")
    return spec


def _fmt(spec: dict, default: str) -> str:
    return spec.get("format", default)


def format_dates(v: pd.Series, fmt: str) -> pd.Series:
    """Dates/timestamps as text; numpy's ISO formatter is ~20x faster than strftime for the ISO forms."""
    ts = pd.to_datetime(v)
    iso_unit = {"%Y-%m-%d": "D", "%Y-%m-%dT%H:%M:%S": "s"}.get(fmt)
    if iso_unit:
        arr = ts.to_numpy(dtype="datetime64[ns]").astype(f"datetime64[{iso_unit}]")
        txt = pd.Series(np.datetime_as_string(arr, unit=iso_unit), index=v.index, dtype=object)
    else:
        txt = ts.dt.strftime(fmt).astype(object)
    return txt.where(ts.notna(), None)


def format_strings(df: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """Contract columns as text (None for empty), the way a CSV export writes them."""
    out = {}
    for c, s in columns.items():
        if c not in df.columns:
            raise KeyError(f"column {c!r} of the contract is missing from the generated frame")
        v = df[c]
        t = s.get("type", "string")
        if t in ("date", "timestamp"):
            out[c] = format_dates(v, _fmt(s, "%Y-%m-%d" if t == "date" else "%Y-%m-%dT%H:%M:%S"))
        elif t == "integer":
            iv = pd.array(v, dtype="Int64")
            out[c] = pd.Series(iv, index=df.index).astype("string").astype(object).where(~pd.isna(iv), None)
        elif t == "decimal":
            fv = v.astype(float)
            out[c] = fv.map(repr).where(fv.notna(), None)
        elif t == "boolean":
            out[c] = v.map({True: "true", False: "false"}).where(v.notna(), None)
        else:
            out[c] = v.astype(object).where(v.notna(), None)
    return pd.DataFrame(out, index=df.index)


def _native(value: object, t: str, fmt: str | None) -> object:
    """A formatted string back to the value a JSON or Excel writer would hold."""
    if value is None:
        return None
    if not isinstance(value, str) or t == "string":
        return value
    try:
        if t == "integer":
            return int(value)
        if t == "decimal":
            return float(value)
        if t == "boolean":
            return {"true": True, "false": False}[value]
    except (ValueError, KeyError):
        return value  # deliberately bad text stays text
    return value


class DropWriter:
    """Writes feeds under out_dir, injects bad rows per the contract, and records truth + manifest."""

    def __init__(self, out_dir: Path, seed: int, contracts_dir: Path = CONTRACTS_DIR) -> None:
        self.out_dir = out_dir
        self.seed = seed
        self.contracts_dir = contracts_dir
        self.bad_rows: list[dict] = []
        self.rows: dict[str, int] = {}
        self._contracts: dict[str, dict] = {}

    def contract(self, source: str) -> dict:
        if source not in self._contracts:
            self._contracts[source] = load_contract(source, self.contracts_dir)
        return self._contracts[source]

    def folder(self, source: str) -> Path:
        c = self.contract(source)
        return self.out_dir / c.get("root", "drops") / c.get("folder", source)

    def write(self, source: str, feed: str, df: pd.DataFrame, name: str, keys: Iterable[str] | None = None,
              *, encoding: str = "utf-8", truncate_keys: Iterable[str] = (), unreadable_keys: Iterable[str] = (),
              clean: bool = False) -> list[Path]:
        """Write `df` as one file per key (name.format(key=...)); returns the paths written."""
        spec = dict(self.contract(source)["feeds"][feed])
        spec["_name"] = f"{source}.{feed}"
        fmt = spec["format"]
        key_arr = np.asarray(list(keys)) if keys is not None else np.full(len(df), "")
        if len(key_arr) != len(df):
            raise ValueError(f"{source}.{feed}: {len(key_arr)} file keys for {len(df)} rows")
        paths = []
        uniq = sorted(set(key_arr.tolist())) or [""]
        for key in uniq:
            fname = name.format(key=key)
            if not fnmatch.fnmatch(fname, spec["files"]):
                raise ValueError(f"{source}.{feed}: file {fname} does not match the contract glob {spec['files']}")
            # Formatted per file, so only one file's text is in memory at a time (scale 10 stays < 4 GiB).
            part = format_strings(df[key_arr == key] if len(uniq) > 1 else df, spec["columns"]).reset_index(drop=True)
            r = rng(self.seed, f"bad/{source}/{feed}/{fname}")
            path = self.folder(source) / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            if key in set(unreadable_keys):
                # An Excel file that was cut off during transfer: the zip central directory is missing.
                good = self._xlsx_bytes(part, spec)
                path.write_bytes(good[: len(good) // 3])
                self._bad(source, feed, path, 0, "unreadable_file", None, "xlsx cut to a third: not a readable zip")
                self.rows[str(path)] = 0
                paths.append(path)
                continue
            kinds = badrows.applicable_kinds(spec, fmt)
            if encoding != "utf-8":
                kinds = [k for k in kinds if k != "bad_encoding"]
            rows, bad = self._inject(part, spec, [] if clean else badrows.plan(len(part), kinds, r), r)
            truncated = key in set(truncate_keys)
            if truncated:
                extra = rows.iloc[-1].to_dict()
                badrows.fresh_key(extra, spec, 9999)
                rows = pd.concat([rows, pd.DataFrame([extra])], ignore_index=True)
            data = self._encode(rows, spec, fmt, encoding)
            if truncated:
                data = _truncate_last(data, fmt)
                bad.append((len(rows), badrows.BadRow("truncated", None, "last line cut mid-row")))
            path.write_bytes(data)
            for row_no, b in bad:
                self._bad(source, feed, path, row_no, b.kind, b.column, b.detail)
            self.rows[str(path)] = len(rows)
            paths.append(path)
        return paths

    def write_api(self, name: str, df: pd.DataFrame, http_dir: Path | None = None) -> Path:
        """API data as JSON lines under out_dir/api, with bad records injected per the HTTP contract."""
        http_dir = http_dir or self.contracts_dir.parent / "http"
        with (http_dir / f"{name}.yaml").open(encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
        spec["_name"] = name
        cursor = spec["incremental"]["cursor_field"]
        # The cursor field stays valid: the server orders and filters on it.
        inj = dict(spec, columns={c: (dict(s, type="string", required=False) if c == cursor else s)
                                 for c, s in spec["columns"].items()})
        text = format_strings(df, spec["columns"])
        r = rng(self.seed, f"bad/api/{name}")
        rows, bad = self._inject(text, inj, badrows.plan(len(text), badrows.applicable_kinds(inj, "json"), r), r)
        path = self.out_dir / "api" / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self._encode(rows, spec, "jsonl", "utf-8"))
        pk = spec["primary_key"]
        for row_no, b in bad:
            key = ", ".join(f"{c}={rows.iloc[row_no - 1][c]}" for c in pk)
            self._bad(spec["source"], name, path, row_no, b.kind, b.column, f"{b.detail} [{key}]")
        self.rows[str(path)] = len(rows)
        return path

    def _bad(self, source: str, feed: str, path: Path, row: int, kind: str, column: str | None, detail: str) -> None:
        self.bad_rows.append({"source": source, "feed": feed, "file": path.relative_to(self.out_dir).as_posix(),
                              "row": row, "kind": kind, "column": column, "detail": detail})

    def _inject(self, part: pd.DataFrame, spec: dict, kinds: list[str],
                r: np.random.Generator) -> tuple[pd.DataFrame, list[tuple[int, badrows.BadRow]]]:
        n = len(part)
        if not kinds:
            return part, []
        copies, pos, info = [], [], []
        for k, kind in enumerate(kinds):
            src = int(r.integers(0, n))
            row = part.iloc[src].to_dict()
            if kind == "duplicate_key":
                at = int(r.integers(src, n))
                b = badrows.BadRow(kind, ",".join(spec["primary_key"]), f"repeats the key of data row {src + 1}")
            else:
                badrows.fresh_key(row, spec, k + 1)
                b = badrows.corrupt(row, kind, spec, r)
                at = int(r.integers(0, n))
            copies.append(row)
            pos.append(at * 2 + 1 + k / (len(kinds) + 1))
            info.append(b)
        # Originals sit on even keys, copies between them; a duplicate always lands after its original.
        order_key = np.concatenate([np.arange(n) * 2.0, np.asarray(pos)])
        both = pd.concat([part, pd.DataFrame(copies, columns=part.columns)], ignore_index=True)
        ranks = np.argsort(order_key, kind="stable")
        out = both.iloc[ranks].reset_index(drop=True)
        row_of = np.empty(len(ranks), dtype=np.int64)
        row_of[ranks] = np.arange(1, len(ranks) + 1)
        bad = [(int(row_of[n + i]), b) for i, b in enumerate(info)]
        # A duplicate copy is the later of two equal keys only if nothing else moved; keep truth exact.
        return out, sorted(bad, key=lambda x: x[0])

    def _encode(self, rows: pd.DataFrame, spec: dict, fmt: str, encoding: str) -> bytes:
        if fmt == "csv":
            opts = spec.get("csv", {})
            txt = rows.to_csv(index=False, sep=opts.get("delimiter", ","), lineterminator="\n",
                              header=[spec["columns"][c].get("source_name", c) for c in rows.columns])
            data = txt.encode(encoding)
        elif fmt == "jsonl":
            types = {c: s.get("type", "string") for c, s in spec["columns"].items()}
            lines = []
            for rec in rows.itertuples(index=False, name=None):
                obj = {spec["columns"][c].get("source_name", c): _native(v, types[c], None)
                       for c, v in zip(rows.columns, rec, strict=True)}
                lines.append(json.dumps(obj, ensure_ascii=False))
            data = ("\n".join(lines) + "\n").encode(encoding)
        elif fmt == "excel":
            return self._xlsx_bytes(rows, spec)
        else:
            raise ValueError(f"{spec['_name']}: unknown format {fmt}")
        marker = badrows.BAD_ENCODING_MARKER.encode(encoding)
        if fmt == "jsonl":
            marker = json.dumps(badrows.BAD_ENCODING_MARKER)[1:-1].encode()
        return data.replace(marker, b"\xff\xfe")

    def _xlsx_bytes(self, rows: pd.DataFrame, spec: dict) -> bytes:
        cols = spec["columns"]
        header = [cols[c].get("source_name", c) for c in rows.columns]
        types = [cols[c].get("type", "string") for c in rows.columns]

        def native(v: object, t: str) -> object:
            nv = _native(v, t, None)
            if t == "date" and isinstance(nv, str):
                try:
                    return dt.date.fromisoformat(nv)
                except ValueError:
                    return nv  # malformed on purpose: stays a text cell
            return nv

        body = ([native(v, t) for v, t in zip(rec, types, strict=True)]
                for rec in rows.itertuples(index=False, name=None))
        return xlsx_bytes(header, body, sheet_name="库存")

    def write_truth(self) -> Path:
        path = self.out_dir / "truth" / "bad_rows.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame(self.bad_rows, columns=BAD_ROW_COLUMNS).sort_values(
            ["source", "feed", "file", "row"], kind="stable")
        df.to_csv(path, index=False, lineterminator="\n")
        return path


def _truncate_last(data: bytes, fmt: str) -> bytes:
    body = data.rstrip(b"\n")
    cut = body.rfind(b"\n") + 1
    last = body[cut:]
    if fmt == "csv":
        commas = [i for i, ch in enumerate(last) if ch == ord(",")]
        keep = commas[len(commas) // 2] + 2 if commas else max(1, len(last) // 2)
    else:
        keep = max(1, len(last) // 2)
    # Do not cut inside a multi-byte character: step back to a character boundary.
    while keep > 0 and (last[keep] & 0xC0) == 0x80:
        keep -= 1
    return body[:cut] + last[:keep]


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            n += 1
    return n
