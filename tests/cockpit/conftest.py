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
    """The real quarterly value reports of the world's last complete quarter, written by the Dagster job
    ``value_reports`` (asset raw/value_reports, partitioned by quarter) exactly as `lodestar demo` runs it, then
    published; returns one reported customer with its KPI figures read independently from marts.value_realization."""
    from lodestar.mainjob import run_value_reports
    from lodestar.readpath import publish_snapshot
    from lodestar.reports.value_report import quarter_start
    from lodestar.warehouse import Warehouse

    outcome = run_value_reports()
    assert outcome.success, outcome.failed_steps
    publish_snapshot(world.warehouse, world.snapshots)
    wh = Warehouse(world.warehouse)
    reports = wh.query("select customer_id, quarter, pdf_path from raw.value_reports order by customer_id")
    assert len(reports) > 0
    quarter = reports["quarter"].iloc[0]
    kpis = wh.query(
        "select customer_id, kpi_name, baseline_value, quarter_value, change_pct from marts.value_realization "
        "where quarter_start = ? and change_pct is not null and customer_id in "
        "(select customer_id from raw.value_reports where quarter = ?) order by customer_id, kpi_name",
        [quarter_start(quarter), quarter])
    assert len(kpis) > 0, f"no KPI figures in marts.value_realization for the reported quarter {quarter}"
    cid = kpis["customer_id"].iloc[0]
    mine = kpis[kpis["customer_id"] == cid]
    figures = [f for k in mine.itertuples()
               for f in (f"{k.baseline_value:.2f}", f"{k.quarter_value:.2f}", f"{k.change_pct:+.1f}%")]
    return {"customer_id": cid, "quarter": quarter, "figures": figures, "kpis": mine["kpi_name"].tolist()}
