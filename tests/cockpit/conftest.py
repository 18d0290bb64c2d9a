"""One demo company per session for the cockpit tests: generated at a small scale and run through the real main
job (landing, dbt, forecast, levers, the cockpit's users), then published as the cockpit's snapshot."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cockpit_world import PASSWORD, SCALE, World, login, serve

from lodestar.settings import get_settings


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("cockpit_home")
    # The whole folder runs against this home (the server resolves report paths from it too).
    os.environ["LODESTAR_HOME"] = str(home)
    os.environ["LODESTAR_COCKPIT_DEMO_PASSWORD"] = PASSWORD
    os.environ.setdefault("LODESTAR_ML_THREADS", "1")
    from lodestar.cli import demo_api_env
    from lodestar.demo.generator import generate
    from lodestar.mainjob import run_main_job
    from lodestar.readpath import publish_snapshot

    t0 = time.perf_counter()
    generate(get_settings().demo_dir, scale=SCALE)
    with demo_api_env():  # as `lodestar demo` does: the HTTP feeds read the demo company's API
        outcome = run_main_job(tags={"trigger": "cockpit_tests"})
    assert outcome.success, outcome.failed_steps
    snap = publish_snapshot(get_settings().warehouse_path)
    return World(home, get_settings().warehouse_path, snap.path.parent, time.perf_counter() - t0)


@pytest.fixture(scope="session")
def app(world: World):
    from lodestar.cockpit.app import create_app

    return create_app(world.snapshots, world.warehouse)


@pytest.fixture(scope="session")
def base_url(app) -> str:
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def users(world: World) -> dict[str, list[dict]]:
    from lodestar.cockpit.users import read_demo_passwords

    out: dict[str, list[dict]] = {}
    for u in read_demo_passwords(world.home):
        out.setdefault(u["role"], []).append(u)
    return out


@pytest.fixture(scope="session")
def director(base_url):
    with login(base_url, "director") as c:
        yield c


@pytest.fixture(scope="session")
def am_clients(base_url, users):
    """Two account managers who both own customers."""
    ams = users["account_manager"][:2]
    clients = [login(base_url, u["username"]) for u in ams]
    yield list(zip(ams, clients, strict=True))
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def csg_client(base_url, users):
    u = users["csg_member"][0]
    with login(base_url, u["username"]) as c:
        yield u, c


@pytest.fixture(scope="session")
def docs_dir() -> Path:
    from lodestar.settings import PROJECT_ROOT

    d = PROJECT_ROOT / "docs" / "cockpit"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def value_report(world: World) -> dict:
    """A quarterly value report listed in raw.value_reports the way the reports asset lists them (contract:
    <home>/reports/value/<quarter>/<customer>.pdf|.html): a real PDF holding the customer's latest KPI change, so
    a download can be checked by its text."""
    import duckdb
    import pandas as pd
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from lodestar.readpath import publish_snapshot
    from lodestar.warehouse import Warehouse

    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        cid, kpi, change = con.execute(
            "select customer_id, kpi_name, change_pct from marts.value_realization where change_pct is not null "
            "order by customer_id, quarter_start desc limit 1").fetchone()
    finally:
        con.close()
    quarter = "2026Q3"
    folder = world.home / "reports" / "value" / quarter
    folder.mkdir(parents=True, exist_ok=True)
    figure = f"KPI change {change:+.1f}%"
    pdf = canvas.Canvas(str(folder / f"{cid}.pdf"), pagesize=A4)
    pdf.drawString(72, 770, f"Value report {cid} {quarter}")
    pdf.drawString(72, 750, figure)
    pdf.save()
    (folder / f"{cid}.html").write_text(f"<h1>Value report {cid}</h1><p>{figure}</p>", encoding="utf-8")
    Warehouse(world.warehouse).replace_rows("raw", "value_reports", pd.DataFrame([{
        "customer_id": cid, "quarter": quarter, "pdf_path": str(folder / f"{cid}.pdf"),
        "html_path": str(folder / f"{cid}.html"), "created_at": pd.Timestamp("2026-10-01")}]), "customer_id = ?", [cid])
    publish_snapshot(world.warehouse, world.snapshots)
    return {"customer_id": cid, "quarter": quarter, "figure": figure, "kpi": kpi}
