"""Propose an HTTP contract (``connectors/http/*.yaml``) by probing an API endpoint
(`lodestar connector infer-http URL`).

The probe GETs the URL (bearer token from an env var, never printed), finds the record list in the body
(the data selector), recognises the pagination style — page number (a total-pages field), cursor (a
next-cursor token) or link (a next URL in the body or a ``Link: rel="next"`` header) — and checks it by
fetching the second page; it looks for an updated-at field among the records and tries the usual
"updated since" query parameters to see which one the API honours (the answer must shrink). Column
types come from :func:`connectors.infer.guess_type`, the file inference's parser-backed typing.

The HTTP connector reads all three styles (connectors/http_api.py); an API with no pagination found (a single
page) says so in its notes and does not load as proposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import requests
import yaml

from connectors.http_api import dig_or_none
from connectors.infer import canonical_names, guess_type, key_candidates, load_header_words
from connectors.validation import records_text_frame

_LIST_NAMES = ("data", "items", "results", "records", "rows", "list", "content")
_TOTAL_PAGES = ("total_pages", "totalPages", "pages", "page_count", "pageCount", "last_page", "lastPage")
_NEXT_CURSOR = ("next_cursor", "nextCursor", "next_page_token", "nextPageToken", "cursor", "after", "next_token")
_NEXT_LINK = ("next", "next_url", "nextUrl", "next_page_url", "nextPage", "links.next", "_links.next.href",
              "links.next.href", "paging.next")
_UPDATED = re.compile(r"(updated|modified|changed|last_?update|update_?time|mtime|更新时间|修改时间)", re.IGNORECASE)
_SINCE_PARAMS = ("updated_since", "since", "modified_since", "updated_after", "updatedSince", "updated_at_gt",
                 "changed_since", "from")
_PAGE_PARAMS = ("page", "page_no", "pageNo", "pageNum", "p")
_SIZE_PARAMS = ("page_size", "pageSize", "per_page", "limit", "size")


class ProbeError(RuntimeError):
    """The endpoint could not be probed (names the URL and the reason, never the token)."""


@dataclass
class HttpInference:
    url: str
    name: str
    source: str
    data_selector: str
    paginator: dict
    incremental: dict | None
    columns: dict[str, dict]
    primary_key: list[str]
    base_url_env: str
    token_env: str | None
    path: str
    params: dict[str, Any]
    records: int
    notes: list[str] = field(default_factory=list)

    @property
    def loadable(self) -> bool:
        """Whether the HTTP connector can read the proposal (page-number, cursor or link pagination)."""
        return self.paginator.get("type") in ("page_number", "cursor", "link") and bool(self.data_selector)

    def contract(self) -> dict:
        out: dict = {
            "name": self.name,
            "source": self.source,
            "description": f"Proposed by `lodestar connector infer-http` from {self.path}; review before use.",
            "base_url_env": self.base_url_env,
        }
        if self.token_env:
            out["auth"] = {"type": "bearer", "token_env": self.token_env}
        out["endpoint"] = {"path": self.path, "params": self.params}
        out["data_selector"] = self.data_selector
        out["paginator"] = self.paginator
        if self.incremental:
            out["incremental"] = self.incremental
        out["primary_key"] = self.primary_key
        out["reject_threshold"] = 0.05
        out["columns"] = self.columns
        return out

    def yaml_text(self) -> str:
        head = [f"# Proposed by `lodestar connector infer-http` from {self.path}: review, then save as",
                f"# connectors/http/{self.name}.yaml and set {self.base_url_env}"
                + (f" and {self.token_env}" if self.token_env else "") + " in the environment."]
        head += [f"# UNSURE: {n}" for n in self.notes]
        body = yaml.safe_dump(self.contract(), allow_unicode=True, sort_keys=False, width=120, default_flow_style=None)
        return "\n".join(head) + "\n" + body


def _paths(body: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every (dotted path, value) of a JSON object, three levels deep."""
    if not isinstance(body, dict) or depth > 2:
        return []
    out = []
    for k, v in body.items():
        p = f"{prefix}{k}"
        out.append((p, v))
        out += _paths(v, p + ".", depth + 1)
    return out


def find_data_selector(body: Any) -> tuple[str, list[dict], list[str]]:
    """The path of the record list: the longest list of objects, a usual name winning a tie."""
    if isinstance(body, list):
        return "", body, ["the body is a bare JSON list: the connector needs the records under a key"]
    lists = [(p, v) for p, v in _paths(body) if isinstance(v, list) and (not v or isinstance(v[0], dict))]
    if not lists:
        raise ProbeError("no list of records in the response body")
    lists.sort(key=lambda pv: (-len(pv[1]), pv[0].split(".")[-1] not in _LIST_NAMES, pv[0].count(".")))
    notes = [f"several record lists ({', '.join(p for p, _ in lists)}): chose {lists[0][0]!r}"] if len(lists) > 1 else []
    return lists[0][0], lists[0][1], notes


class _Prober:
    def __init__(self, url: str, token: str | None, timeout: float):
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        split = urlsplit(url)
        self.base = f"{split.scheme}://{split.netloc}"
        self.path = split.path or "/"
        self.params = dict(parse_qsl(split.query))

    def get(self, params: dict | None = None, url: str | None = None) -> requests.Response:
        target = url or self.base + self.path
        try:
            resp = self.session.get(target, params=None if url else {**self.params, **(params or {})},
                                    headers=self.headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProbeError(f"GET {target} failed: {type(exc).__name__}: {exc}") from exc
        return resp

    def json(self, resp: requests.Response) -> Any:
        if resp.status_code in (401, 403):
            raise ProbeError(f"GET {self.path} answered {resp.status_code}: set the bearer token (--token-env)")
        if resp.status_code != 200:
            raise ProbeError(f"GET {self.path} answered {resp.status_code}: {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ProbeError(f"GET {self.path}: the body is not JSON ({resp.text[:80]!r})") from exc


def _records(body: Any, selector: str) -> list:
    data = body if selector == "" else dig_or_none(body, selector)
    return data if isinstance(data, list) else []


def detect_paginator(prober: _Prober, body: Any, resp: requests.Response, selector: str,
                     first: list[dict], pk: list[str]) -> tuple[dict, list[str]]:
    """The pagination style, confirmed by fetching the next page when the API offers one."""
    notes: list[str] = []
    ident = (lambda r: tuple(str(r.get(k)) for k in pk)) if pk else (lambda r: repr(sorted(r.items())))
    seen = {ident(r) for r in first if isinstance(r, dict)}

    def new_records(next_body: Any) -> bool:
        recs = _records(next_body, selector)
        return bool(recs) and any(ident(r) not in seen for r in recs if isinstance(r, dict))

    flat = dict(_paths(body)) if isinstance(body, dict) else {}
    total_path = next((p for p in flat if p.split(".")[-1] in _TOTAL_PAGES and isinstance(flat[p], int)), None)
    if total_path is not None:
        page_param = next((p for p in _PAGE_PARAMS if p in prober.params), "page")
        current = next((flat[p] for p in flat if p.split(".")[-1] in ("page", "current_page", "pageNo", "page_no")
                        and isinstance(flat[p], int)), None)
        base_page = 0 if current == 0 else 1
        spec = {"type": "page_number", "page_param": page_param, "total_path": total_path, "base_page": base_page}
        if flat[total_path] > 1:
            if not new_records(prober.json(prober.get({page_param: base_page + 1}))):
                notes.append(f"page {base_page + 1} (?{page_param}={base_page + 1}) gave no new records: "
                             "check the page parameter")
        return spec, notes
    link = resp.links.get("next", {}).get("url") if resp.links else None
    link_path = None if link else next((p for p in _NEXT_LINK if isinstance(flat.get(p), str)
                                        and re.match(r"^(https?://|/)", flat[p])), None)
    if link or link_path:
        target = link or flat[link_path]
        if target.startswith("/"):
            target = prober.base + target
        spec = {"type": "link", "next_url_path": link_path} if link_path else {"type": "link", "header": "Link"}
        if not new_records(prober.json(prober.get(url=target))):
            notes.append(f"the next link {target!r} gave no new records")
        return spec, notes
    cursor_path = next((p for p in flat if p.split(".")[-1] in _NEXT_CURSOR and isinstance(flat[p], str | int)
                        and flat[p] not in ("", None)), None)
    if cursor_path is not None:
        token = flat[cursor_path]
        param = next((c for c in ("cursor", "after", "page_token", "next_cursor", "pageToken")
                      if new_records(prober.json(prober.get({c: token})))), None)
        spec = {"type": "cursor", "cursor_path": cursor_path, "cursor_param": param or "cursor"}
        if param is None:
            notes.append(f"cursor {cursor_path!r} found but no usual query parameter returned the next page: "
                         "set cursor_param")
        return spec, notes
    notes.append("no pagination found (no total-pages field, next link or next cursor): a single page; the HTTP "
                 "connector needs one of the three, so this proposal does not load as it is")
    return {"type": "single_page"}, notes


def detect_incremental(prober: _Prober, selector: str, records: list[dict], body: Any,
                       paginator: dict) -> tuple[dict | None, list[str]]:
    """An updated-at field, and the query parameter that makes the API return only newer records."""
    fields = [k for k in (records[0] if records else {}) if _UPDATED.search(k)]
    if not fields:
        return None, ["no updated-at field among the record fields: the feed re-reads everything each run"]
    field_name = fields[0]
    values = pd.to_datetime(pd.Series([r.get(field_name) for r in records]), errors="coerce", utc=True,
                            format="ISO8601")
    if values.isna().all():
        return None, [f"{field_name!r} looks like an updated-at field but holds no ISO timestamps"]
    # The middle value of this page: an API honouring the parameter answers with fewer records (or pages).
    stamps = sorted(str(r[field_name]) for r in records if r.get(field_name))
    mid = stamps[len(stamps) // 2]

    def size(b: Any) -> tuple[int, int]:
        flat = dict(_paths(b)) if isinstance(b, dict) else {}
        total = next((flat[p] for p in flat if p.split(".")[-1] in ("total", "total_count", "count", "totalCount")
                      and isinstance(flat[p], int)), None)
        return (total if total is not None else len(_records(b, selector)), len(_records(b, selector)))

    full = size(body)
    for param in _SINCE_PARAMS:
        resp = prober.get({param: mid})
        if resp.status_code != 200:
            continue
        narrowed = prober.json(resp)
        got = size(narrowed)
        recs = [r for r in _records(narrowed, selector) if isinstance(r, dict)]
        parsed = pd.to_datetime(pd.Series([r.get(field_name) for r in recs], dtype=object), errors="coerce",
                                utc=True, format="ISO8601")
        cut = pd.to_datetime(mid, utc=True, format="ISO8601")
        # Honoured when the answer shrank, or (no totals to compare) when every record is at or after the
        # cut although the unfiltered first page had older ones.
        only_newer = bool(recs) and bool((parsed >= cut).all()) and bool((values < cut).any())
        if got < full or only_newer:
            return ({"cursor_param": param, "cursor_field": field_name, "initial_value": "2000-01-01T00:00:00"},
                    [] if len(fields) == 1 else [f"updated-at candidates {fields}: chose {field_name!r}"])
    return None, [f"{field_name!r} looks like an updated-at field but none of {list(_SINCE_PARAMS)} narrowed the "
                  "answer: no incremental cursor proposed"]


def _env_prefix(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def infer_http_contract(url: str, name: str | None = None, source: str | None = None,
                        token_env: str | None = None, token: str | None = None,
                        timeout: float = 30.0) -> HttpInference:
    """Probe ``url`` and propose an HTTP contract (see the module docstring). ``token`` is the value of
    ``token_env``; it is sent as a bearer token and never returned or printed."""
    prober = _Prober(url, token, timeout)
    resp = prober.get()
    body = prober.json(resp)
    selector, records, notes = find_data_selector(body)
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        raise ProbeError(f"GET {prober.path}: the record list {selector!r} is empty: probe a URL that returns data")
    name = name or re.sub(r"^(api_)?(v\d+_)?", "", re.sub(r"[^a-z0-9]+", "_", prober.path.lower()).strip("_"))
    source = source or name.split("_")[0]
    keys = sorted({k for r in records for k in r})
    ordered = [k for k in records[0]] + [k for k in keys if k not in records[0]]
    text = records_text_frame(records, ordered)
    names, _, name_notes = canonical_names(ordered, load_header_words())
    notes += name_notes
    text.columns = names
    columns: dict[str, dict] = {}
    types: dict[str, str] = {}
    for field_name, col in zip(ordered, names, strict=True):
        values = text[col].where(text[col].str.strip() != "", None)
        type_, fmt, type_notes = guess_type(values)
        notes += [f"{col}: {n}" for n in type_notes]
        spec: dict = {"type": type_}
        if values.notna().all():
            spec["required"] = True
        if fmt:
            spec["format"] = fmt
        if field_name != col:
            spec["source_name"] = field_name
        columns[col] = spec
        types[col] = type_
    clean = text.apply(lambda s: s.where(s.str.strip() != "", None))
    candidates = key_candidates(clean, [c for c in names if types[c] not in ("decimal", "boolean", "timestamp")])
    primary_key = candidates[0] if candidates else [names[0]]
    if not candidates:
        notes.append(f"no unique field on the first page: primary_key set to {names[0]!r}; correct it")
    elif len(candidates) > 1:
        notes.append(f"primary key {primary_key} chosen among unique candidates {candidates[:5]}")
    src_pk = [columns[c].get("source_name", c) for c in primary_key]
    paginator, pag_notes = detect_paginator(prober, body, resp, selector, records, src_pk)
    notes += pag_notes
    incremental, inc_notes = detect_incremental(prober, selector, records, body, paginator)
    notes += inc_notes
    if incremental is not None:
        # The contract names the field as the API spells it (the connector reads the raw record).
        col = names[ordered.index(incremental["cursor_field"])]
        columns[col]["required"] = True
    size_param = next((p for p in _SIZE_PARAMS if p in prober.params), None)
    params = {k: (int(v) if v.isdigit() else v) for k, v in prober.params.items()
              if k not in (paginator.get("page_param"), (incremental or {}).get("cursor_param"))}
    if size_param is None and paginator.get("type") == "page_number":
        notes.append("no page-size parameter in the URL: the API's default page size is used")
    prefix = _env_prefix(source)
    return HttpInference(
        url=url, name=name, source=source, data_selector=selector, paginator=paginator, incremental=incremental,
        columns=columns, primary_key=primary_key, base_url_env=f"{prefix}_API_URL",
        token_env=token_env, path=prober.path, params=params, records=len(records), notes=notes,
    )
