"""Loader benchmark: land the demo company (every file source and HTTP feed, dependency order) into a
fresh warehouse and print seconds and rows/s per source; not collected by pytest.

    .venv/bin/python -m lodestar.demo.generator --out /tmp/loaderbench/demo --scale 1
    .venv/bin/python bench/landing.py --demo /tmp/loaderbench/demo --home /tmp/loaderbench/h1
    LODESTAR_LOADER=duckdb .venv/bin/python bench/landing.py ...   # or =dlt

``--shared`` also lands the real-data sources (Walmart, online retail, superstore) from $LODESTAR_SHARED_DATA.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--demo", type=Path, required=True, help="demo dir made by lodestar.demo.generator")
    ap.add_argument("--home", type=Path, required=True, help="scratch LODESTAR_HOME (wiped first)")
    ap.add_argument("--shared", action="store_true", help="also land the shared real-data sources")
    ap.add_argument("--only", nargs="*", help="land only these sources / HTTP feeds (their order kept)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)

    shutil.rmtree(args.home, ignore_errors=True)
    args.home.mkdir(parents=True)
    os.environ["LODESTAR_HOME"] = str(args.home)
    os.environ["LODESTAR_DEMO_DIR"] = str(args.demo.resolve())
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))

    import connectors
    from connectors.contracts import (
        SourceContract,
        discover_http_contracts,
        load_file_contracts,
        source_dependencies,
    )
    from connectors.files import land_file_source
    from connectors.http_api import land_http_feed
    from lodestar.demo.api import serve_demo_api
    from lodestar.settings import get_settings
    from lodestar.warehouse import Warehouse

    files, errors = load_file_contracts(Path(connectors.__file__).parent / "contracts")
    http, herr = discover_http_contracts(Path(connectors.__file__).parent / "http")
    assert not errors and not herr, (errors, herr)
    files = [c for c in files if args.shared or c.root == "drops"]
    by_name = {c.source: c for c in files} | {h.name: h for h in http}
    deps = source_dependencies(files, http)
    order = [
        n
        for n in TopologicalSorter(deps).static_order()
        if n in by_name and (not args.only or n in args.only)
    ]
    wh = Warehouse(get_settings().warehouse_path)
    token = "bench-token"
    figures: dict[str, dict] = {}
    with serve_demo_api(args.demo, token) as url:
        os.environ["LODESTAR_DEMO_API_URL"] = url
        os.environ["LODESTAR_DEMO_API_TOKEN"] = token
        for rnd in ("first", "rerun"):
            for name in order:
                t0 = time.perf_counter()
                c = by_name[name]
                if isinstance(c, SourceContract):
                    res = land_file_source(c, wh)
                    rows = sum(f.rows_seen for f in res.feeds.values())
                else:
                    rows = land_http_feed(c, wh).rows_seen
                dt = time.perf_counter() - t0
                figures.setdefault(name, {})[rnd] = {"seconds": round(dt, 2), "rows": rows}
    total = {
        rnd: {
            "seconds": round(sum(f[rnd]["seconds"] for f in figures.values()), 2),
            "rows": sum(f[rnd]["rows"] for f in figures.values()),
        }
        for rnd in ("first", "rerun")
    }
    loader = os.environ.get("LODESTAR_LOADER", "(default)")
    print(f"loader={loader}  {'source':<16} {'rows':>9} {'s':>7} {'rows/s':>9} {'rerun s':>8}")
    for name, f in [*figures.items(), ("TOTAL", total)]:
        r, s = f["first"]["rows"], f["first"]["seconds"]
        print(
            f"{'':<{len('loader=' + loader) + 2}}{name:<16} {r:>9} {s:>7.2f} {r / s if s else 0:>9.0f} "
            f"{f['rerun']['seconds']:>8.2f}"
        )
    tables = wh.query("select table_schema, table_name from information_schema.tables order by 1, 2")
    print("schemas:", sorted(set(tables["table_schema"])), "tables:", len(tables))
    if args.json:
        args.json.write_text(json.dumps({"loader": loader, "sources": figures, "total": total}, indent=1))


if __name__ == "__main__":
    main()
