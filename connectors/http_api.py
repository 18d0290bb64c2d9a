"""The declarative HTTP connector: an :class:`HttpContract` becomes an incremental, validated load.

We page with our own small loop (requests) rather than dlt's ``rest_api`` source — page number (a total-pages
field), cursor (a next-page token in the body) or link (a ``Link: rel="next"`` header or a next URL in the body,
followed only on the feed's own base URL):
records must pass the same vectorised column checks as file rows, with rejects routed to
``raw.<source>_rejects``, which needs the whole fetched batch as one frame before anything is written;
the landing goes through :func:`connectors.landing.land_batch` (merge on the primary key). The
``updated_since`` cursor is kept in ``raw._http_cursor`` and written in the same transaction as the
records (direct loader) or after them (dlt), so a failed run refetches and re-merges instead of
losing records. The bearer token is read from the env var and never logged.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pandas as pd
import requests

from connectors.contracts import HttpContract
from connectors.landing import (
    Cursor,
    FeedLandingResult,
    feed_load,
    land_batch,
    new_batch_id,
    now_utc,
    rejects_arrow,
    rejects_load,
    to_arrow,
)
from connectors.lookups import read_cursor, resolve_references, table_columns
from connectors.validation import records_text_frame, validate_frame
from lodestar.warehouse import Warehouse


class HttpFeedError(RuntimeError):
    """The API could not be read (bad status, bad body, missing configuration)."""


class HttpAuthError(HttpFeedError):
    """The API refused our credentials (401/403)."""


def _env(name: str, what: str, contract: HttpContract) -> str:
    value = os.environ.get(name)
    if not value:
        raise HttpFeedError(f"{contract.path or contract.name}: {what} env var {name} is not set")
    return value


def dig(body: Any, path: str) -> Any:
    """The field at a dotted path of a JSON body (``meta.total_pages``); KeyError when it is absent."""
    for part in path.split("."):
        if not isinstance(body, dict) or part not in body:
            raise KeyError(path)
        body = body[part]
    return body


RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# What a flaky network or a restarting server looks like from requests: worth another try.
_TRANSIENT = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _get_page(
    session: requests.Session,
    contract: HttpContract,
    url: str,
    params: dict,
    headers: dict,
    timeout: float,
    page: int,
    sleep=time.sleep,
) -> tuple[Any, int, dict]:
    """One page's JSON body, retried on 429 / 5xx / timeouts / resets / cut-off bodies; returns
    (body, retries used, the parsed ``Link`` header). 401/403 and other 4xx fail at once: trying again cannot fix them."""
    retry = contract.retry
    where = f"{contract.name}: GET {url} page {page}"
    last = ""
    for attempt in range(1, retry.attempts + 1):
        wait = retry.backoff_seconds * 2 ** (attempt - 1)
        try:
            resp = session.get(url, params=params, headers=headers, timeout=timeout)
        except _TRANSIENT as exc:
            last = f"{type(exc).__name__}: {_scrub(str(exc), headers)}"
        else:
            if resp.status_code in (401, 403):
                token_env = contract.auth.token_env if contract.auth else "(no auth configured)"
                raise HttpAuthError(
                    f"{contract.name}: GET {url} answered {resp.status_code} {resp.reason}: "
                    f"check the bearer token in env var {token_env}"
                )
            if resp.status_code == 200:
                try:
                    return resp.json(), attempt - 1, resp.links
                except ValueError as exc:  # a body cut off mid-way parses as broken JSON
                    last = f"body is not JSON ({exc})"
            elif resp.status_code in RETRY_STATUS:
                last = f"answered {resp.status_code}"
                asked = retry_after_seconds(resp.headers.get("Retry-After"))
                if asked is not None:
                    wait = asked
            else:
                raise HttpFeedError(f"{where} answered {resp.status_code}: {_scrub(resp.text[:200], headers)}")
        if attempt < retry.attempts:
            sleep(min(wait, retry.max_wait_seconds))
    raise HttpFeedError(f"{where} failed after {retry.attempts} attempt(s): {last}")


def _scrub(text: str, headers: dict) -> str:
    """An error text with the bearer token cut out, should a server or library echo it back."""
    auth = headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ").strip()
    return text.replace(token, "<token>") if token else text


def fetch_records(
    contract: HttpContract,
    since: str | None,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    sleep=time.sleep,
) -> tuple[list[dict], int]:
    """All records of the endpoint updated after ``since`` (all pages); returns (records, pages)."""
    base = _env(contract.base_url_env, "base URL", contract).rstrip("/")
    url = base + contract.endpoint.path
    session = session or requests.Session()
    headers = {}
    if contract.auth is not None:
        headers["Authorization"] = f"Bearer {_env(contract.auth.token_env, 'token', contract)}"
    pag = contract.paginator
    page, pages, records = getattr(pag, "base_page", 1), 0, []
    params = dict(contract.endpoint.params)
    if contract.incremental is not None and since is not None:
        params[contract.incremental.cursor_param] = since
    seen: set[str] = set()  # cursors / next URLs already followed: a server that repeats one would loop forever
    while True:
        if pag.type == "page_number":
            params[pag.page_param] = page
        body, _, links = _get_page(session, contract, url, params, headers, timeout, page, sleep)
        where = f"{contract.name}: GET {url} page {page}"
        try:
            data = dig(body, contract.data_selector)
        except KeyError:
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise HttpFeedError(
                f"{where}: body has no data selector {contract.data_selector!r} (body keys: {keys})"
            ) from None
        if not isinstance(data, list):
            raise HttpFeedError(
                f"{where}: {contract.data_selector!r} is a {type(data).__name__}, not a list of records"
            )
        records.extend(data)
        pages += 1
        if pag.type == "page_number":
            try:
                total_pages = int(dig(body, pag.total_path))
            except (KeyError, TypeError, ValueError):
                raise HttpFeedError(f"{where}: body has no page count {pag.total_path!r}") from None
            if page - pag.base_page + 1 >= total_pages or not data:
                break
        elif pag.type == "cursor":
            token = dig_or_none(body, pag.cursor_path)
            if token in (None, "") or not data:
                break
            token = str(token)
            if token in seen:
                raise HttpFeedError(f"{where}: the API returned cursor {token!r} a second time (it would never end)")
            seen.add(token)
            params = {**params, pag.cursor_param: token}
        else:
            nxt = links.get("next", {}).get("url") if pag.header else dig_or_none(body, pag.next_url_path)
            if not nxt or not data:
                break
            nxt = _same_origin(contract, base, url, str(nxt), where)
            if nxt in seen:
                raise HttpFeedError(f"{where}: the API returned next link {nxt!r} a second time (it would never end)")
            seen.add(nxt)
            # the link carries its query (page, filters); what it leaves out of ours (e.g. `since`) is kept
            carried = set(parse_qs(urlsplit(nxt).query))
            url, params = nxt, {k: v for k, v in params.items() if k not in carried}
        page += 1
    return records, pages


def dig_or_none(body: Any, path: str) -> Any:
    """A dotted body field, None when absent (the last page of a cursor / link API leaves it out)."""
    try:
        return dig(body, path)
    except KeyError:
        return None


def _same_origin(contract: HttpContract, base: str, current: str, link: str, where: str) -> str:
    """The next link as an absolute URL (relative ones against the page it came from), refused unless it is on
    the feed's base URL: following it elsewhere would send the bearer token to another server."""
    absolute = urljoin(current, link)
    want, got = urlsplit(base), urlsplit(absolute)
    if (got.scheme, got.netloc) != (want.scheme, want.netloc):
        raise HttpFeedError(f"{where}: next link {absolute!r} leaves the feed's base URL {base!r} "
                            f"({contract.base_url_env}); not followed")
    return absolute


def since_with_lookback(cursor: str, seconds: float) -> str:
    """The stored cursor moved ``seconds`` earlier, in the cursor's own spelling (ISO, ``Z`` kept):
    records tied with the newest landed one come back and merge by key instead of being skipped."""
    if not seconds:
        return cursor
    try:
        when = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError:
        return cursor  # not a timestamp we can move: sent as stored
    earlier = when - timedelta(seconds=seconds)
    text = earlier.isoformat(timespec="microseconds" if "." in cursor else "seconds")
    if cursor.endswith("Z") and text.endswith("+00:00"):
        text = text.removesuffix("+00:00") + "Z"
    if " " in cursor.strip() and "T" not in cursor:
        text = text.replace("T", " ")
    return text


def schema_drift(records: list, contract: HttpContract) -> dict[str, list[str]]:
    """Fields the contract expects that no record carries, and fields no contract column reads."""
    objs = [r for r in records if isinstance(r, dict)]
    if not objs:
        return {"missing": [], "new": []}
    seen = {k for r in objs for k in r}
    wanted = {spec.source_name or col for col, spec in contract.columns.items()}
    return {"missing": sorted(wanted - seen), "new": sorted(seen - wanted)}


def _records_frame(records: list[dict], contract: HttpContract) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Contract columns as text (None = empty), the payloads, and a mask of non-object records."""
    is_obj = pd.Series([isinstance(r, dict) for r in records], dtype=bool)
    objs = [r if isinstance(r, dict) else {} for r in records]
    keys = [spec.source_name or col for col, spec in contract.columns.items()]
    raw = records_text_frame(objs, keys)
    nulls = set(contract.null_values)
    out = {}
    for col, spec in contract.columns.items():
        s = raw[spec.source_name or col]
        out[col] = s.where(~(s.isin(nulls).fillna(False)))
    payload = pd.Series([json.dumps(r, ensure_ascii=False, default=str) for r in records], dtype=object)
    return pd.DataFrame(out, index=raw.index), payload, ~is_obj


def land_http_feed(
    contract: HttpContract, warehouse: Warehouse, full_refresh: bool = False, timeout: float = 30.0
) -> FeedLandingResult:
    """Fetch records updated since the stored cursor, validate, merge into ``raw.<name>`` and advance
    the cursor. ``full_refresh`` ignores the stored cursor (records still merge by primary key)."""
    batch_id = new_batch_id(contract.name)
    loaded_at = now_utc()
    inc = contract.incremental
    since = stored = None
    if inc is not None:
        stored = None if full_refresh else read_cursor(warehouse, contract.name)
        since = since_with_lookback(stored, inc.lookback_seconds) if stored else inc.initial_value
    records, pages = fetch_records(contract, since, timeout=timeout)
    drift = schema_drift(records, contract)
    if drift["missing"] and drift["new"]:
        # A field gone and an unknown one come: a rename upstream. Landing would fill the column with NULL.
        raise HttpFeedError(
            f"{contract.name}: schema drift: field(s) {drift['missing']} missing from all {len(records)} "
            f"record(s), new field(s) {drift['new']} (renamed upstream? update {contract.path or 'the contract'})"
        )
    with warehouse.reader() as snap:
        refs = resolve_references(contract.source, contract.columns, snap) if records else {}
    fr = FeedLandingResult(
        feed=contract.name,
        table=f"raw.{contract.table_name}",
        batch_id=batch_id,
        reject_threshold=contract.reject_threshold,
        files_seen=0,
        pages_fetched=pages,
        cursor=stored or since,
        schema_drift=drift,
    )
    origin = contract.endpoint.path
    if records:
        frame, payload, not_obj = _records_frame(records, contract)
        frame["_source_file"] = origin
        frame["_source_row"] = range(1, len(frame) + 1)
        checked = validate_frame(
            frame[~not_obj], contract.columns, contract.primary_key, payload[~not_obj], refs
        )
        rejects = checked.rejects
        if not_obj.any():
            extra = pd.DataFrame(
                {
                    "_source_file": origin,
                    "_source_row": frame["_source_row"][not_obj],
                    "kind": "truncated",
                    "reason": "_row: truncated record is not a JSON object",
                    "payload": payload[not_obj],
                }
            )
            rejects = pd.concat([rejects, extra], ignore_index=True)
        # A record's reject is the same reject whichever position it had in the batch: the lookback
        # fetches the newest records again, and their rejects must merge, not pile up.
        rejects = rejects.assign(feed=contract.name, _origin=origin, _reject_key=rejects["payload"])
        fr.rows_seen = len(frame)
        fr.rows_accepted = len(checked.accepted)
        fr.rows_rejected = len(rejects)
        fr.rejects_by_kind = {k: int(n) for k, n in rejects["kind"].value_counts().items()}
        loads = []
        if len(checked.accepted):
            loads.append(
                feed_load(
                    contract.table_name,
                    to_arrow(checked.accepted, contract.columns, batch_id, loaded_at),
                    contract.columns,
                    contract.primary_key,
                )
            )
        if len(rejects):
            loads.append(rejects_load(contract.rejects_table, rejects_arrow(rejects, batch_id, loaded_at)))
        cursor = None
        if inc is not None:
            # Compare as timestamps, keep the API's own text: it is sent back verbatim next time.
            raw_cursor = pd.Series(
                [r.get(inc.cursor_field) if isinstance(r, dict) else None for r in records]
            )
            parsed = pd.to_datetime(raw_cursor, errors="coerce", format="ISO8601", utc=True)
            if parsed.notna().any():
                newest = str(raw_cursor[parsed.idxmax()])
                if since is None or pd.to_datetime(since, utc=True, format="ISO8601") < parsed.max():
                    cursor = Cursor(contract.name, newest, batch_id)
        # The cursor is stored with the records it covers (one transaction with the direct loader).
        land_batch(f"lodestar_http_{contract.name}", warehouse, loads, cursor=cursor, batch_id=batch_id)
        if cursor is not None:
            fr.cursor = cursor.value
    with warehouse.reader() as snap:
        fr.rows_in_table = snap.row_count("raw", contract.table_name)
        fr.columns = table_columns(snap, contract.table_name)
    return fr
