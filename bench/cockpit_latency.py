"""Latency of the sales cockpit with a real browser: the re-forecast after a lever change (server and round trip,
p50/p95), the browser's redraw, and page loads; writes bench/results/cockpit.json.

The cockpit runs as its own process (`lodestar cockpit`) on a demo company of the given scale: either an existing
home (--home, after `lodestar demo`) or one generated and run here into a temporary home (a few minutes at
scale 1). Chromium is Debian's /usr/bin/chromium driven by Playwright.
Run: nice .venv/bin/python bench/cockpit_latency.py --scale 1 [--home DIR] [--changes 40]

Scale 10 without a multi-hour scale-10 main job: `--home DIR --tile K` copies that home's warehouse into a scratch
home and replaces the two relations the re-forecast reads (intermediate.int_scenario_inputs and
staging.stg_forecast__predictions, views over the real forecast) by tables holding K copies of every grain series
(account manager and SKU ids suffixed, region / product line / channel kept), so the engine, the JSON and the browser
handle K times the series. The other pages keep the source home's data; the result records `tile` and the series
count, so the figure is labelled for what it is.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
from ml.levers import LEVER_SPECS  # noqa: E402

PASSWORD = "bench-cockpit"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PAGES = ["levers", "lights", "matrix", "customers", "csg", "reconciliation", "efficiency"]
REDRAW_PARTS = ("json_parse_ms", "wait_ms", "draw_ms", "chart_region_ms", "chart_product_line_ms",
                "chart_channel_ms", "tables_ms", "frame_ms")
LEVERS_LOAD_PARTS = ("html_response_end_ms", "script_start_ms", "inline_parsed_ms", "done_at_ms", "all_charts_at_ms")
PAGE_LOAD_DEFINITION = (
    "page_load (warm: one browser context, so the cache holds plotly.js and the CSS/JS from the first load, as for "
    "anyone who opened the cockpit before; these URLs are immutable) and page_load_cold (a fresh browser context "
    "per load, empty cache, the session cookie set: a first visit): wall clock in the bench process from "
    "page.goto(url) to the page's `load` event (every script run, the charts on the first screen drawn) and, for "
    "/levers, on to the first forecast drawn on the first screen (the charts in the viewport, every total and "
    "table, and the next animation frame painted); levers_all_charts, customer_all_charts: until the charts below "
    "the viewport are drawn too (in idle time right after). report_html, report_pdf: the value report download "
    "through the signed-in browser context (request sent to the last byte). page_load_in_page: the same first end "
    "points on the page's own clock from navigation start, without the bench's Playwright round trips; "
    "page_load_parts: on that clock, the first byte of the HTML (ttfb), its last byte, the first contentful paint "
    "(text on screen; plotly.js is deferred), DOMContentLoaded (plotly.js and the page's scripts run) and load. server_html: the same URLs fetched by httpx (server time plus loopback, no "
    "browser). sign_in: /login loaded (login_page) and, after the page has run plotly.js in idle time and at least "
    "1.5 s of typing, the form submitted until /levers has drawn its first "
    "forecast (submit_to_levers), warm (the bench's context after signing out) and cold (fresh contexts).")
WARM_END = {  # what a warm/cold page load waits for after `load`, and the all-charts end point after that
    "levers": ("window.cockpitTimings && window.cockpitTimings.length >= 1",
               "window.cockpitTimings[0].all_charts_at_ms != null || !document.querySelector('.chart:not(.js-plotly-plot)')"),
    "customer": (None, "window.chartsPending === 0"),
}
NAV_PARTS = ("(() => { const n = performance.getEntriesByType('navigation')[0];"
             " const fcp = performance.getEntriesByName('first-contentful-paint')[0];"
             " return {ttfb_ms: n.responseStart, html_end_ms: n.responseEnd,"
             " first_contentful_paint_ms: fcp ? fcp.startTime : n.loadEventEnd,"
             " dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd,"
             " html_bytes: n.transferSize}; })()")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))], 2)


def stats(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 0.5), "p95_ms": pct(values, 0.95), "max_ms": round(max(values), 2),
            "mean_ms": round(statistics.fmean(values), 2)}


def build_home(scale: float, home: Path) -> float:
    dagster_home = home.parent / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / ".dagster" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "LODESTAR_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
           "LODESTAR_COCKPIT_DEMO_PASSWORD": PASSWORD}
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "lodestar"), "demo", "--scale", str(scale),
                    "--history-weeks", "0"], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - t0


TILED_RELATIONS = (("intermediate", "int_scenario_inputs"), ("staging", "stg_forecast__predictions"))


def tile_home(source_home: Path, home: Path, k: int) -> None:
    """A scratch home whose forecast grain is ``k`` copies of ``source_home``'s (see the module docstring)."""
    import duckdb

    home.mkdir(parents=True)
    if (source_home / "reports").is_dir():  # the value report downloads: raw.value_reports names these files
        (home / "reports").symlink_to((source_home / "reports").resolve())
    target = home / "warehouse.duckdb"
    shutil.copyfile(source_home / "warehouse.duckdb", target)
    con = duckdb.connect(str(target))
    try:
        for schema, name in TILED_RELATIONS:
            copy = "case when t.i = 0 then {c} else {c} || '~t' || t.i end"
            con.execute(f"create table {schema}.{name}__tiled as select * replace ("
                        f"{copy.format(c='account_manager_id')} as account_manager_id, "
                        f"{copy.format(c='sku_id')} as sku_id) "
                        f"from {schema}.{name}, (select range as i from range({k})) t")
            con.execute(f"drop view {schema}.{name}")
            con.execute(f"alter table {schema}.{name}__tiled rename to {name}")
        con.execute("checkpoint")
    finally:
        con.close()


def random_levers(rng: random.Random) -> dict:
    spec = rng.choice(LEVER_SPECS)
    return {spec.name: round(rng.uniform(spec.lo, spec.hi), 3)}


def page_targets(api: httpx.Client) -> dict[str, str]:
    """Every page's URL; the customer page and the report downloads of a customer that has a value report."""
    targets = {n: f"/{n}" for n in PAGES}
    customers = api.get("/api/customers").json()
    cid, report = customers[0]["customer_id"], None
    for c in customers[:200]:
        reports = api.get(f"/api/customers/{c['customer_id']}").json().get("value_reports") or []
        if reports:
            cid, report = c["customer_id"], reports[0]["quarter"]
            break
    targets["customer"] = f"/customers/{cid}"
    if report is not None:
        targets["report_html"] = f"/reports/{cid}/{report}.html"
        targets["report_pdf"] = f"/reports/{cid}/{report}.pdf"
    targets["login"] = "/login"
    return targets


def server_times(base: str, cookie: dict, targets: dict[str, str], loads: int) -> dict:
    """Each URL fetched without a browser (gzip accepted, as a browser does): the server's share of a load."""
    out = {}
    with httpx.Client(base_url=base, cookies=cookie, timeout=60, headers={"Accept-Encoding": "gzip"}) as c:
        for name, path in targets.items():
            samples, size = [], 0
            for _ in range(loads):
                t = time.perf_counter()
                r = c.get(path)
                samples.append(1000 * (time.perf_counter() - t))
                r.raise_for_status()
                size = len(r.content)
            out[name] = {**stats(samples), "bytes": size}
    return out


def _load(page, base: str, name: str, path: str) -> tuple[float, float | None, float, dict]:
    """One load of a page: (first end point ms, all charts ms or None, in-page ms, navigation parts)."""
    first_js, all_js = WARM_END.get(name, (None, None))
    t = time.perf_counter()
    page.goto(f"{base}{path}", wait_until="load")
    if first_js:
        page.wait_for_function(first_js, timeout=30000)
    first = 1000 * (time.perf_counter() - t)
    every = None
    if all_js:
        page.wait_for_function(all_js, timeout=30000)
        every = 1000 * (time.perf_counter() - t)
    parts = page.evaluate(NAV_PARTS)
    in_page = page.evaluate("window.cockpitTimings[0].done_at_ms") if name == "levers" else parts["load_ms"]
    return first, every, in_page, parts


def _stats_parts(parts: list[dict]) -> dict:
    return {k: stats([p[k] for p in parts]) for k in parts[0] if k != "html_bytes"} | {
        "html_transfer_bytes": parts[-1]["html_bytes"]}



class _Loads:
    """One page's loads: first screen drawn, the page's own clock, its parts, and every chart drawn."""

    def __init__(self) -> None:
        self.first: list[float] = []
        self.nav: list[float] = []
        self.parts: list[dict] = []
        self.every: list[float] = []

    def add(self, page, base: str, name: str, path: str) -> None:
        first, all_, in_page, parts = _load(page, base, name, path)
        self.first.append(first)
        self.nav.append(in_page)
        self.parts.append(parts)
        if all_ is not None:
            self.every.append(all_)

def page_loads(page, base: str, targets: dict[str, str], loads: int) -> dict:
    """Warm loads in the bench's signed-in context (its cache primed by a first, unrecorded load of each page)."""
    loads_, in_page, parts_, all_charts, levers_parts = {}, {}, {}, {}, {}
    for name, path in targets.items():
        if name == "login":
            continue
        if name.startswith("report_"):
            samples = []
            for _ in range(loads):
                t = time.perf_counter()
                r = page.request.get(f"{base}{path}")
                body = r.body()
                samples.append(1000 * (time.perf_counter() - t))
                assert r.status == 200 and (body[:5] == b"%PDF-" if name == "report_pdf" else b"<html" in body[:400].lower()), (name, r.status)
            loads_[name] = {**stats(samples), "bytes": len(body)}
            continue
        _load(page, base, name, path)  # prime the cache (and the server's) for this page
        got = _Loads()
        for _ in range(loads):
            got.add(page, base, name, path)
            if name == "levers":
                rec = page.evaluate("window.cockpitTimings[0]")
                for k in LEVERS_LOAD_PARTS:
                    if rec.get(k) is not None:
                        levers_parts.setdefault(k, []).append(rec[k])
        loads_[name], in_page[name], parts_[name] = stats(got.first), stats(got.nav), _stats_parts(got.parts)
        if got.every:
            all_charts[f"{name}_all_charts"] = stats(got.every)
    return {"page_load": loads_, "page_load_all_charts": all_charts, "page_load_in_page": in_page,
            "page_load_parts": parts_, "page_load_levers_parts": {k: stats(v) for k, v in levers_parts.items()}}


def page_loads_cold(browser, base: str, cookie: dict, targets: dict[str, str], loads: int) -> dict:
    """Each page in a fresh browser context (empty cache), signed in by the session cookie."""
    out = {}
    host = base.split("//", 1)[1].split(":")[0]
    for name, path in targets.items():
        if name == "login" or name.startswith("report_"):
            continue
        got = _Loads()
        for _ in range(loads):
            ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
            ctx.add_cookies([{"name": k, "value": v, "domain": host, "path": "/"} for k, v in cookie.items()])
            got.add(ctx.new_page(), base, name, path)
            ctx.close()
        out[name] = {**stats(got.first), "in_page": stats(got.nav), "parts": _stats_parts(got.parts)}
        if got.every:
            out[name]["all_charts"] = stats(got.every)
    return out


TYPING_MS = 1500  # a person typing a user name and password after the sign-in page has appeared


def _sign_in_once(page, base: str) -> tuple[float, float]:
    t = time.perf_counter()
    page.goto(f"{base}/login", wait_until="load")
    login = 1000 * (time.perf_counter() - t)
    # the page fetches and runs plotly.js in idle time (its compiled code is cached for the next page): a person
    # is still typing then; the bench waits for it, at least TYPING_MS in all
    page.wait_for_function("window.plotlyWarmed === true", timeout=30000)
    page.wait_for_timeout(max(0.0, TYPING_MS - 1000 * (time.perf_counter() - t) + login))
    page.fill("#username", "director")
    page.fill("#password", PASSWORD)
    t = time.perf_counter()
    page.click("#sign-in")
    page.wait_for_url("**/levers")
    page.wait_for_function(WARM_END["levers"][0], timeout=30000)
    return login, 1000 * (time.perf_counter() - t)


def sign_in_times(page, browser, base: str, warm_loads: int, cold_loads: int) -> dict:
    out = {}
    for label, n in (("warm", warm_loads), ("cold", cold_loads)):
        login, submit = [], []
        for _ in range(n):
            if label == "warm":  # signed out in the same context: the cache keeps plotly.js
                page.context.clear_cookies()
                p = page
            else:
                ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
                p = ctx.new_page()
            a, b = _sign_in_once(p, base)
            login.append(a)
            submit.append(b)
            if label == "cold":
                ctx.close()
        out[label] = {"login_page": stats(login), "submit_to_levers": stats(submit)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--home", type=Path, help="an existing LODESTAR_HOME after `lodestar demo` (else one is built)")
    ap.add_argument("--changes", type=int, default=40, help="lever changes per measurement")
    ap.add_argument("--tile", type=int, default=1,
                    help="with --home: serve K copies of every forecast series (scale K x the home's scale)")
    ap.add_argument("--port", type=int, default=8611)
    ap.add_argument("--loads", type=int, default=20, help="loads per page with a warm cache (and server-only)")
    ap.add_argument("--cold-loads", type=int, default=6, help="loads per page in a fresh browser context")
    ap.add_argument("--out", type=Path, default=RESULTS / "cockpit.json")
    args = ap.parse_args()

    scratch = None
    built_s = None
    home = args.home
    if args.tile > 1:
        if home is None:
            ap.error("--tile needs --home")
        scratch = Path(tempfile.mkdtemp(prefix="lodestar-cockpit-bench-"))
        home = scratch / "home"
        tile_home(args.home, home, args.tile)
    elif home is None:
        scratch = Path(tempfile.mkdtemp(prefix="lodestar-cockpit-bench-"))
        home = scratch / "home"
        built_s = build_home(args.scale, home)
    env = {**os.environ, "LODESTAR_HOME": str(home), "LODESTAR_COCKPIT_DEMO_PASSWORD": PASSWORD}
    if args.home is not None:  # users of an existing home: (re)create them with the bench's password
        subprocess.run([sys.executable, "-c", "from lodestar.cockpit.users import create_demo_users;"
                        "from lodestar.settings import get_settings;from lodestar.warehouse import Warehouse;"
                        "from lodestar.readpath import publish_snapshot;s=get_settings();"
                        "create_demo_users(Warehouse(s.warehouse_path), s.home);publish_snapshot(s.warehouse_path)"],
                       env=env, check=True, cwd=ROOT)
    server = subprocess.Popen([str(Path(sys.executable).parent / "lodestar"), "cockpit", "--port", str(args.port)],
                              env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{args.port}"
    out: dict = {"scale": args.scale, "tile": args.tile, "source_home": str(args.home) if args.home else None, "home_built_seconds": round(built_s, 1) if built_s else None,
                 "cpu_count": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()],
                 "niceness": os.nice(0)}  # the cockpit server and Chromium run with the bench's niceness
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        rng = random.Random(7)
        token = httpx.post(f"{base}/api/login", json={"username": "director", "password": PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        t0 = time.perf_counter()
        first = api.post("/api/forecast", json={"levers": {}}).json()
        out["engine_prepare_first_call_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        out["grain_series"] = first["series"]
        out["grain_rows"] = first["series"] * len(first["weeks"])
        wall, server_ms = [], []
        for _ in range(args.changes):
            t = time.perf_counter()
            r = api.post("/api/forecast", json={"levers": random_levers(rng)}).json()
            wall.append(1000 * (time.perf_counter() - t))
            server_ms.append(r["server_ms"])
        out["load_average_api"] = [round(x, 2) for x in os.getloadavg()]
        out["api_reforecast_round_trip"] = stats(wall)
        out["api_reforecast_server"] = stats(server_ms)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"{base}/login")
            page.fill("#username", "director")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url("**/levers")
            page.wait_for_function("window.cockpitTimings && window.cockpitTimings.length >= 1")
            for _ in range(args.changes):
                spec = rng.choice(LEVER_SPECS)
                n = page.evaluate("window.cockpitTimings.length")
                # set and commit without moving focus (a blur would commit the previous input again)
                page.evaluate("([n, v]) => { const e = document.getElementById('lever-' + n); e.value = v;"
                              " e.dispatchEvent(new Event('change')); }",
                              [spec.name, str(round(rng.uniform(spec.lo, spec.hi), 3))])
                page.wait_for_function(f"window.cockpitTimings.length > {n}")
            timings = page.evaluate("window.cockpitTimings.slice(1)")
            out["browser_change_to_response"] = stats([t["request_ms"] for t in timings])
            out["browser_redraw"] = stats([t["redraw_ms"] for t in timings])
            out["browser_change_to_redrawn"] = stats([t["total_ms"] for t in timings])
            # Where the redraw goes (levers.js timestamps): JSON parse, each chart's Plotly call, the next frame
            # (layout and paint), and the request before it.
            out["browser_redraw_parts"] = {k: stats([t[k] for t in timings if k in t]) for k in REDRAW_PARTS
                                           if any(k in t for t in timings)}
            # Charts in the viewport are redrawn on a change, those below it in the next idle time (levers.js).
            drawn = [t.get("charts_drawn") for t in timings if "charts_drawn" in t]
            out["browser_charts_redrawn_per_change"] = {str(k): drawn.count(k) for k in sorted(set(drawn))}
            out["load_average_browser"] = [round(x, 2) for x in os.getloadavg()]
            out["page_load_definition"] = PAGE_LOAD_DEFINITION
            cookie = {c["name"]: c["value"] for c in page.context.cookies()}
            targets = page_targets(api)
            out["page_targets"] = {k: v for k, v in targets.items()}
            out["server_html"] = server_times(base, cookie, targets, args.loads)
            out["load_average_pages_warm"] = [round(x, 2) for x in os.getloadavg()]
            out.update(page_loads(page, base, targets, args.loads))
            out["load_average_pages_cold"] = [round(x, 2) for x in os.getloadavg()]
            cold = page_loads_cold(browser, base, cookie, targets, args.cold_loads)
            out["page_load_cold"] = cold
            out["sign_in"] = sign_in_times(page, browser, base, args.loads, args.cold_loads)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
