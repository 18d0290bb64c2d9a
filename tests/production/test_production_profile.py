"""The production profile on real servers: PostgreSQL, a Dagster code server, dagster-daemon and
dagster-webserver on PostgreSQL storage, an MLflow tracking server on PostgreSQL.

On a `--scale 0.02` company: first small selections (the shipped NER champion, one source's landing, one inbox
document) for the daemon, the queue, the schedule and the sensor; then `lodestar demo` runs the whole main job on
the profile and a run of the second code location reads what it built. The tests run in file order against one
profile (conftest.py); each names what it needs from the ones before.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from lodestar_prod_helpers import LAUNCH_RUN, REPO, SCALE, SENSOR_DOCUMENT, Profile

from lodestar.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

# The extraction run the inbox sensor starts links facts to raw.erp_customers: the pool test lands it first.
ERP_CUSTOMERS = ("raw/erp_customers", "raw/erp_rejects")
# A second writer of the same warehouse, with no cross-table references to land first.
ERP_ROOTS = ("raw/erp_factories", "raw/erp_product_lines", "raw/erp_rejects")


REPORTS_REPO = {"repositoryLocationName": "reports", "repositoryName": "__repository__"}
STEP_BOUNDS = ("ExecutionStepStartEvent", "ExecutionStepSuccessEvent", "ExecutionStepFailureEvent")


def _step_window(run: dict, step_prefix: str) -> tuple[float, float]:
    """(start, end) of the run's steps whose key starts with ``step_prefix``, in seconds: their STEP_START and
    STEP_SUCCESS/FAILURE events (a planned-materialisation event carries the step key before the run starts)."""
    stamps = [float(e["timestamp"]) / 1000 for e in run["eventConnection"]["events"]
              if e["__typename"] in STEP_BOUNDS and e["stepKey"].startswith(step_prefix)]
    assert stamps, f"no events of step {step_prefix} in run {run['runId']}"
    return min(stamps), max(stamps)


def test_servers_are_up_on_loopback_with_postgres_storage(profile: Profile) -> None:
    info = profile.gql("""{ instance { runLauncher { name } runQueuingSupported
                           daemonHealth { allDaemonStatuses { daemonType healthy required } } } }""")["instance"]
    assert info["runQueuingSupported"] is True
    required = {d["daemonType"]: d["healthy"] for d in info["daemonHealth"]["allDaemonStatuses"] if d["required"]}
    for daemon in ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "ASSET"):
        assert required.get(daemon) is True, (daemon, required, profile.log("daemon"))
    # Two code locations, each from its own code server, both loaded; together they hold the laptop's whole graph.
    entries = profile.gql("""{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
                              locationOrLoadError { ... on RepositoryLocation { repositories { jobs { name } } } } } } } }""")
    locations = {e["name"]: e for e in entries["workspaceOrError"]["locationEntries"]}
    assert {name: e["loadStatus"] for name, e in locations.items()} == {"lodestar": "LOADED", "reports": "LOADED"}
    jobs = {name: {j["name"] for r in e["locationOrLoadError"]["repositories"] for j in r["jobs"]}
            for name, e in locations.items()}
    assert {"main", "landing", "retrain_forecast"} <= jobs["lodestar"] and "value_reports" not in jobs["lodestar"]
    assert "value_reports" in jobs["reports"]
    # Dagster's tables are in the profile's PostgreSQL, not a SQLite file in DAGSTER_HOME.
    tables = {r[0] for r in profile.psql("dagster", "select tablename from pg_tables where schemaname = 'public'")}
    assert {"runs", "event_logs", "jobs", "job_ticks", "concurrency_limits"} <= tables
    assert profile.psql("dagster", 'select "limit" from concurrency_limits where concurrency_key = %s', ("duckdb_warehouse",)) \
        == [(1,)]
    assert not list((profile.root / "profile" / "dagster_home").glob("**/*.db"))
    # Every listener binds 127.0.0.1 only.
    ports = {int(profile.env[k]) for k in ("LODESTAR_PROD_PG_PORT", "LODESTAR_PROD_DAGSTER_PORT",
                                           "LODESTAR_PROD_MLFLOW_PORT", "LODESTAR_PROD_CODE_PORT",
                                           "LODESTAR_PROD_REPORTS_CODE_PORT")}
    listening = {c.laddr for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port in ports}
    assert {addr.port for addr in listening} == ports
    # (gRPC listens on the IPv4-mapped IPv6 form of 127.0.0.1: still loopback only.)
    ips = {ipaddress.ip_address(addr.ip) for addr in listening}
    assert {getattr(ip, "ipv4_mapped", None) or ip for ip in ips} == {ipaddress.ip_address("127.0.0.1")}, ips
    # PostgreSQL asks for the password.
    import psycopg2

    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(host="127.0.0.1", port=profile.env["LODESTAR_PROD_PG_PORT"], user="lodestar",
                         password="wrong", dbname="mlflow").close()


def test_run_through_the_daemon_registers_the_ner_champion_in_mlflow(profile: Profile) -> None:
    run_id = profile.launch_assets("intel/ner_model", tags={"test": "daemon"})
    run = profile.wait_run(run_id)
    assert run["status"] == "SUCCESS", profile.log("daemon")
    # The run reached MLflow through MLFLOW_TRACKING_URI only: the run, the model version and its alias
    # sit in MLflow's PostgreSQL tables, the model's files under the server's artifact root.
    aliases = profile.psql("mlflow", "select name, alias, version from registered_model_aliases")
    assert ("lodestar-ner", "champion", 1) in aliases
    versions = profile.psql("mlflow", "select name, version, source, run_id from model_versions")
    assert [v[:2] for v in versions] == [("lodestar-ner", 1)]
    runs = profile.psql("mlflow", "select run_uuid, status from runs")
    assert (versions[0][3], "FINISHED") in runs
    run_dirs = list((profile.root / "profile" / "mlflow-artifacts").glob(f"*/{versions[0][3]}/artifacts"))
    assert run_dirs and any(p.is_file() for p in run_dirs[0].rglob("*")), run_dirs
    assert not (profile.home / "mlflow.db").exists()  # the laptop's SQLite store is not in the path


def test_two_warehouse_runs_queue_on_the_pool(profile: Profile) -> None:
    first = profile.launch_assets(*ERP_CUSTOMERS, tags={"test": "pool"})
    second = profile.launch_assets(*ERP_ROOTS, tags={"test": "pool"})
    seen_waiting = False
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        a, b = profile.run(first)["status"], profile.run(second)["status"]
        if a == "STARTED" and b == "QUEUED":
            seen_waiting = True
        if {a, b} <= {"SUCCESS", "FAILURE", "CANCELED"}:
            break
        time.sleep(1)
    runs = [profile.wait_run(first), profile.wait_run(second)]
    assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], [profile.errors(r) for r in runs]
    # One writer at a time: the second landing step starts only after the first one has finished.
    a_start, a_end = _step_window(runs[0], "land_erp")
    b_start, b_end = _step_window(runs[1], "land_erp")
    assert b_start >= a_end, (a_start, a_end, b_start, b_end)
    assert seen_waiting, "the second run never waited in the queue while the first ran"
    wh = duckdb.connect(str(profile.home / "warehouse.duckdb"), read_only=True)
    try:
        assert wh.execute("select count(*) from raw.erp_customers").fetchone()[0] > 0
        assert wh.execute("select count(*) from raw.erp_factories").fetchone()[0] > 0
    finally:
        wh.close()


def _ticks(profile: Profile, kind: str, name: str) -> list[dict]:
    field = "scheduleOrError" if kind == "schedule" else "sensorOrError"
    selector = "scheduleSelector" if kind == "schedule" else "sensorSelector"
    name_key = "scheduleName" if kind == "schedule" else "sensorName"
    typ = "Schedule" if kind == "schedule" else "Sensor"
    data = profile.gql(f"""query($s: {typ}Selector!) {{ {field}({selector}: $s) {{ ... on {typ} {{
        {"scheduleState" if kind == "schedule" else "sensorState"} {{ status ticks(limit: 10) {{ status runIds error {{ message }} }} }}
    }} }} }}""", s={**REPO, name_key: name})[field]
    state = data["scheduleState" if kind == "schedule" else "sensorState"]
    return state["ticks"]


def test_schedule_ticks_and_sensor_fires_in_the_daemon(profile: Profile) -> None:
    # Needs lodestar-ner@champion (the daemon test above) for the extraction run the sensor starts.
    out = profile.gql("""mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { __typename } }""",
                      s={**REPO, "scheduleName": "landing_schedule"})
    assert out["startSchedule"]["__typename"] == "ScheduleStateResult", out
    out = profile.gql("""mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }""",
                      s={**REPO, "sensorName": "intel_inbox_sensor"})
    assert out["startSensor"]["__typename"] == "Sensor", out
    fired: dict[str, list[str]] = {}
    deadline = time.monotonic() + 240  # a per-minute cron ticks within 60 s; the sensor every 30 s
    while time.monotonic() < deadline and len(fired) < 2:
        for kind, name in (("schedule", "landing_schedule"), ("sensor", "intel_inbox_sensor")):
            done = [t for t in _ticks(profile, kind, name) if t["status"] == "SUCCESS" and t["runIds"]]
            errors = [t["error"] for t in _ticks(profile, kind, name) if t["status"] == "FAILURE"]
            assert not errors, (kind, errors)
            if done:
                fired[kind] = done[-1]["runIds"]
        time.sleep(3)
    assert set(fired) == {"schedule", "sensor"}, (fired, profile.log("daemon"))
    # Back to their status in code (stopped), so no further tick competes with the tests after this one.
    profile.gql("mutation($s: ScheduleSelector!) { resetSchedule(scheduleSelector: $s) { __typename } }",
                s={**REPO, "scheduleName": "landing_schedule"})
    profile.gql("mutation($s: SensorSelector!) { resetSensor(sensorSelector: $s) { __typename } }",
                s={**REPO, "sensorName": "intel_inbox_sensor"})
    runs = {kind: profile.wait_run(ids[0]) for kind, ids in fired.items()}
    assert runs["schedule"]["status"] == "SUCCESS", profile.errors(runs["schedule"])
    assert runs["schedule"]["jobName"] == "landing"
    assert {"key": "dagster/schedule_name", "value": "landing_schedule"} in runs["schedule"]["tags"]
    # The sensor's run is the real extraction; it links facts to dbt's intermediate.int_customer_directory, which
    # this cheap profile test never builds, so it must stop with the error naming that model (nothing half-written).
    assert runs["sensor"]["jobName"] == "intel_extract"
    assert runs["sensor"]["status"] == "FAILURE", runs["sensor"]["status"]
    assert any("int_customer_directory is missing" in e for e in profile.errors(runs["sensor"])), \
        profile.errors(runs["sensor"])
    wh = duckdb.connect(str(profile.home / "warehouse.duckdb"), read_only=True)
    try:
        assert wh.execute("select count(*) from raw.complaints_complaints").fetchone()[0] > 0  # the schedule's run
        assert wh.execute("select count(*) from information_schema.tables where table_name = 'intel_documents'"
                          ).fetchone()[0] == 0  # the sensor's failed run wrote nothing
    finally:
        wh.close()
    assert {"key": "lodestar/document", "value": SENSOR_DOCUMENT} in runs["sensor"]["tags"]
    # The ticks, cursors and runs are in PostgreSQL.
    assert profile.psql("dagster", "select count(*) from job_ticks where status = 'SUCCESS'")[0][0] >= 2


def test_memory_of_the_servers(profile: Profile) -> None:
    """Resident memory of webserver + daemon + code server + MLflow server (every process of each group), idle:
    after the last run (a run's worker and step processes are children of the code server while it runs)."""
    deadline = time.monotonic() + 300
    while profile.gql(ACTIVE_RUNS)["runsOrError"]["results"]:
        assert time.monotonic() < deadline, "runs still in progress after 300 s"
        time.sleep(2)
    time.sleep(2)
    by_server: dict[str, float] = {}
    for name, pid in profile.pids.items():
        procs = [p for p in psutil.process_iter(["pid", "cmdline", "memory_info"]) if _pgid(p.pid) == pid]
        by_server[name] = sum(p.info["memory_info"].rss for p in procs) / 2**20
        for p in procs:
            print(f"  {name}: pid {p.pid} {p.info['memory_info'].rss / 2**20:.0f} MiB {' '.join(p.info['cmdline'] or [])[:100]}")
    print("production profile RSS (MiB):", {k: round(v) for k, v in sorted(by_server.items())},
          f"total {sum(by_server.values()):.0f}")
    assert set(by_server) == {"webserver", "daemon", "code_server", "code_server_reports", "mlflow"}
    # Goal from issue 15: Dagster, MLflow and the cockpit under 2.5 GiB together; the servers alone stay well below.
    assert sum(by_server.values()) < 2.5 * 1024, by_server


ACTIVE_RUNS = "{ runsOrError(filter: {statuses: [QUEUED, STARTING, STARTED, CANCELING]}) { ... on Runs { results { runId } } } }"


def _pgid(pid: int) -> int | None:
    import os

    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _prod_env(profile: Profile) -> dict[str, str]:
    """The servers' environment plus what `source <profile>/prod.env` exports: how a user runs the CLI on the profile."""
    env = dict(profile.env)
    for line in (profile.root / "profile" / "prod.env").read_text().splitlines():
        if line.startswith("export "):
            env.update(kv.split("=", 1) for kv in line.removeprefix("export ").split() if "=" in kv)
    return env


def test_lodestar_demo_runs_the_main_job_on_the_profile(profile: Profile) -> None:
    """The README's promise: after `source prod.env`, `lodestar demo` runs unchanged — the whole main job and the
    value reports, its runs and events in Dagster's PostgreSQL, its forecast models in the MLflow server's; then a
    run of the second code location (`reports`) launched through the webserver reads the marts it built."""
    env = _prod_env(profile)
    demo = subprocess.run([str(Path(env["LODESTAR_VENV_BIN"]) / "lodestar"), "demo", "--scale", SCALE,
                           "--history-weeks", "1"],
                          env=env, capture_output=True, text=True, timeout=2400, cwd=PROJECT_ROOT)
    assert demo.returncode == 0, f"{demo.stdout[-4000:]}\n{demo.stderr[-3000:]}"
    # Dagster's run storage on PostgreSQL holds the main job's run, finished.
    runs = profile.psql("dagster", "select pipeline_name, status from runs")
    assert ("main", "SUCCESS") in runs, runs
    assert ("value_reports", "SUCCESS") in runs, runs
    # The forecast families' registered models and the champion alias are in MLflow's PostgreSQL tables.
    aliases = profile.psql("mlflow", "select name, alias from registered_model_aliases")
    assert any(name.startswith("lodestar-forecast") and alias == "champion" for name, alias in aliases), aliases
    assert not (profile.home / "mlflow.db").exists()
    wh = duckdb.connect(str(profile.home / "warehouse.duckdb"), read_only=True)
    try:
        assert wh.execute("select count(*) from marts.customer_360").fetchone()[0] > 0
        assert wh.execute("select count(*) from raw.forecast_predictions").fetchone()[0] > 0
        quarter = wh.execute("select max(quarter) from raw.value_reports").fetchone()[0]
    finally:
        wh.close()
    assert quarter, "lodestar demo wrote no value report"
    # The reports location's job, launched through the webserver and the daemon's queue, for the last quarter.
    partitions = profile.gql("""query($r: RepositorySelector!) {
        partitionSetsOrError(repositorySelector: $r, pipelineName: "value_reports") {
        ... on PartitionSets { results { name partitionsOrError { ... on Partitions { results { name } } } } } } }""",
                             r=REPORTS_REPO)
    names = [p["name"] for ps in partitions["partitionSetsOrError"]["results"]
             for p in ps["partitionsOrError"]["results"]]
    assert names, partitions
    params = {
        "selector": {**REPORTS_REPO, "jobName": "value_reports"},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": names[-1]},
                                       {"key": "test", "value": "reports-location"}]},
    }
    out = profile.gql(LAUNCH_RUN, p=params)["launchRun"]
    assert out["__typename"] == "LaunchRunSuccess", out
    run = profile.wait_run(out["run"]["runId"], timeout=600)
    assert run["status"] == "SUCCESS", profile.errors(run)


def test_prod_down_stops_every_server(profile: Profile) -> None:
    pids = profile.pids
    down = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "prod_down.sh"), str(profile.root / "profile")],
                          env=profile.env, capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    for name, pid in pids.items():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, name
    for key in ("LODESTAR_PROD_PG_PORT", "LODESTAR_PROD_DAGSTER_PORT", "LODESTAR_PROD_MLFLOW_PORT"):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(profile.env[key]))) != 0, key
    # The password reached the servers through the environment only: no log, config or env file holds it.
    secret = profile.env["LODESTAR_PG_PASSWORD"].encode()
    leaked = [str(p) for p in (profile.root / "profile").rglob("*")
              if p.is_file() and not p.is_relative_to(profile.root / "profile" / "pg" / "data") and secret in p.read_bytes()]
    assert leaked == []
    # The data stays: a second prod_up would find the same runs.
    assert (profile.root / "profile" / "pg" / "data" / "PG_VERSION").exists()
