"""The `lodestar` command: run the main job on the demo company, serve the demo API, open the UIs."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lodestar.settings import PROJECT_ROOT, disable_telemetry, get_settings


class _App(typer.Typer):
    """The CLI; an error is one short line on stderr and exit code 1, not a traceback (set
    LODESTAR_DEBUG=1 to see the traceback)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if get_settings().debug:
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:500]
            Console(stderr=True).print(f"[red]error:[/] {type(exc).__name__}: {first}", markup=True, highlight=False)
            Console(stderr=True).print("(LODESTAR_DEBUG=1 shows the traceback)", style="dim")
            sys.exit(1)


app = _App(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

DEFAULT_SEED = 20261127


def _prepare_env() -> None:
    """Project-local Dagster home and no telemetry, also when called outside the Makefile."""
    disable_telemetry()
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_ROOT / "dbt_project"))
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    from orchestration.lib.dbt import prepare_manifest

    prepare_manifest()  # dbt parse, only when a dbt project file is newer than the manifest


@contextlib.contextmanager
def demo_api_env() -> Iterator[None]:
    """Serve the demo company's HTTP API on 127.0.0.1 for this command, with a fresh random token, and point
    every HTTP feed's base-URL and token variables (named in its YAML) at it; restored afterwards.
    ``LODESTAR_SERVE_DEMO_API=false`` leaves the feeds reading their own variables (a real source)."""
    if not get_settings().serve_demo_api:
        yield
        return
    from connectors.contracts import discover_http_contracts
    from lodestar.company import environ_overrides
    from lodestar.demo.api import serve_demo_api

    token = secrets.token_urlsafe(24)
    feeds, _ = discover_http_contracts(PROJECT_ROOT / "connectors" / "http")
    with serve_demo_api(get_settings().demo_dir, token=token) as url:
        overrides = {}
        for feed in feeds:
            overrides[feed.base_url_env] = url
            if feed.auth and feed.auth.token_env:
                overrides[feed.auth.token_env] = token
        with environ_overrides(overrides):
            yield


def _configured_company(path: Path | None):
    """The company of ``--company PATH`` (exported as LODESTAR_COMPANY for the graph) or of the env var."""
    from lodestar.company import COMPANY_ENV, CompanyError, current_company

    if path is not None:
        os.environ[COMPANY_ENV] = str(path.expanduser().resolve())
    try:
        return current_company()
    except CompanyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _finish(outcome, history_weeks: int, select: str | None, started: float) -> None:
    """The forecast history and the last complete quarter's value reports after a full run (not after a
    selection), the summary, the exit code."""
    from lodestar.mainjob import print_summary, run_forecast_history, run_value_reports

    if outcome.success and history_weeks > 0 and not select:
        hist = run_forecast_history(history_weeks, log_file=outcome.log_file)
        console.print(f"forecast history: {len(hist.partition_keys)} earlier origin(s) forecast "
                      f"({', '.join(hist.partition_keys)}) and forecast marts rebuilt "
                      f"in {hist.seconds:.1f}s" + ("" if hist.success else f" [red]FAILED[/] {hist.failed_steps}"))
        outcome.absorb(hist)
    if outcome.success and not select:
        from datetime import date

        from lodestar.reports.value_report import quarter_label

        reports = run_value_reports(log_file=outcome.log_file)
        quarter = quarter_label(date.fromisoformat(reports.partition_keys[0]))
        console.print(f"quarterly value reports for {quarter} -> {get_settings().home / 'reports' / 'value' / quarter} "
                      f"in {reports.seconds:.1f}s" + ("" if reports.success else f" [red]FAILED[/] {reports.failed_steps}"))
        outcome.absorb(reports)
    if outcome.success:
        from lodestar.readpath import publish_snapshot

        # The cockpit reads this copy, never the warehouse the runs write (see lodestar/readpath.py).
        snap = publish_snapshot(get_settings().warehouse_path)
        console.print(f"cockpit snapshot published: {snap.path.name}")
    print_summary(outcome, console, elapsed=time.perf_counter() - started)
    if not outcome.ok:  # a failed asset check fails the command too, not only a failed step
        raise typer.Exit(code=1)


def _progress_args(label: str, verbose: bool) -> dict:
    """Progress lines on the console and the full log in $LODESTAR_HOME/logs, unless ``--verbose``."""
    if verbose:
        return {}
    from lodestar.progress import new_log_file

    log_file = new_log_file(get_settings().home, label)
    console.print(f"progress below; the full Dagster and dbt log goes to {log_file}")
    return {"console": console, "log_file": log_file}


def ensure_demo_company(scale: float, seed: int, regenerate: bool = False) -> dict:
    """Generate the demo company unless the same scale and seed are already on disk."""
    from lodestar.demo.generator import generate

    demo_dir = get_settings().demo_dir
    manifest_path = demo_dir / "manifest.json"
    if manifest_path.exists() and not regenerate:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("scale") == scale and manifest.get("seed") == seed:
            return manifest
    return generate(demo_dir, scale=scale, seed=seed)


@app.command()
def generate(
    scale: Annotated[float, typer.Option(help="1 = ~300 customers; 10 = ten times the business")] = 1.0,
    seed: Annotated[int, typer.Option(help="fixed seed: same seed and scale, same bytes")] = DEFAULT_SEED,
    out: Annotated[Path | None, typer.Option(help="output folder (default $LODESTAR_DEMO_DIR)")] = None,
) -> None:
    """Generate the bundled demo company's source systems (file drops, API data, documents, truth)."""
    from lodestar.demo.generator import generate as run_generate

    target = out or get_settings().demo_dir
    started = time.perf_counter()
    manifest = run_generate(target, scale=scale, seed=seed)
    console.print(f"demo company at {target} (scale {scale}, seed {seed}) in {time.perf_counter() - started:.1f}s")
    console.print(f"{len(manifest.get('files', {}))} files written")


@app.command("serve-api")
def serve_api(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = any free port)")] = 8765,
) -> None:
    """Serve the demo company's e-commerce and customer-KPI API on 127.0.0.1 until Ctrl-C.

    The token is read from LODESTAR_DEMO_API_TOKEN.
    """
    from lodestar.demo.api import serve_demo_api

    token = os.environ.get("LODESTAR_DEMO_API_TOKEN")
    if not token:
        raise typer.BadParameter("set LODESTAR_DEMO_API_TOKEN to the token clients must send")
    with serve_demo_api(get_settings().demo_dir, token=token, port=port) as url:
        console.print(f"demo API on {url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="size of the demo company")] = 1.0,
    seed: Annotated[int, typer.Option()] = DEFAULT_SEED,
    regenerate: Annotated[bool, typer.Option(help="regenerate even if present")] = False,
    history_weeks: Annotated[int, typer.Option(
        help="also forecast this many origins before the latest (and the one the sandbox needs for the last "
             "full month), so forecast_accuracy, the red light and the sandbox have weeks with actuals (0 = skip)")] = 4,
    select: Annotated[str | None, typer.Option(
        help="run only these assets, in Dagster selection syntax, e.g. 'tag:layer=landing' or 'group:erp'")] = None,
    verbose: Annotated[bool, typer.Option(help="stream Dagster's and dbt's full log here instead of to a file")] = False,
) -> None:
    """Generate the demo company if needed, run the main job over the whole asset graph, print a summary."""
    _prepare_env()
    from lodestar.mainjob import run_main_job

    started = time.perf_counter()
    ensure_demo_company(scale, seed, regenerate)
    generated = time.perf_counter()
    console.print(f"[bold]demo company ready[/] in {generated - started:.1f}s -> {get_settings().demo_dir}")
    with demo_api_env():
        outcome = run_main_job(select=select, **_progress_args("demo", verbose))
    _finish(outcome, history_weeks, select, generated)


@app.command()
def run(
    company: Annotated[Path | None, typer.Option(
        help="the company file (lodestar.yaml); default $LODESTAR_COMPANY")] = None,
    select: Annotated[str | None, typer.Option(
        help="run only these assets, in Dagster selection syntax, e.g. 'tag:layer=landing' or 'group:erp'")] = None,
    history_weeks: Annotated[int, typer.Option(
        help="also forecast this many earlier origins, as `lodestar demo` does (0 = skip)")] = 0,
    verbose: Annotated[bool, typer.Option(help="stream Dagster's and dbt's full log here instead of to a file")] = False,
) -> None:
    """Run the main job (or a selection) for the configured company; generates nothing."""
    _prepare_env()
    cfg = _configured_company(company)
    if cfg is None:
        console.print("[red]error:[/red] no company: pass --company PATH or set LODESTAR_COMPANY "
                      "(`lodestar generate` writes the demo's as $LODESTAR_DEMO_DIR/lodestar.yaml)")
        raise typer.Exit(2)
    if cfg.demo_api:
        # The demo API serves the data generated beside the demo's company file.
        os.environ["LODESTAR_DEMO_DIR"] = str(cfg.path.parent)
    sources = (", ".join(cfg.sources) if cfg.sources is not None
               else f"every contract in {cfg.contracts_dir}" if cfg.contracts_dir else "none")
    console.print(f"[bold]{cfg.company}[/] ({cfg.path}): currency {cfg.currency}, week starts "
                  f"{cfg.calendar.week_start}, fiscal year starts in month {cfg.calendar.fiscal_year_start_month}; "
                  f"sources: {sources}")
    from lodestar.mainjob import run_main_job

    started = time.perf_counter()
    # Only the demo company is served by the bundled demo API; a company's feeds read their own variables.
    serve = demo_api_env() if cfg.demo_api else contextlib.nullcontext()
    try:
        with serve:
            outcome = run_main_job(select=select, **_progress_args("run", verbose))
    except ValueError as exc:  # a selection matching nothing
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _finish(outcome, history_weeks, select, started)


@app.command()
def capabilities(
    company: Annotated[Path | None, typer.Option(help="a company file: say what it lacks (default $LODESTAR_COMPANY)")] = None,
    update_readme: Annotated[bool, typer.Option(help="rewrite the capability matrix in README.md")] = False,
) -> None:
    """Which sources each mart, forecast and intelligence asset needs (read off the asset graph)."""
    from lodestar import capabilities as cap

    _prepare_env()
    cfg = _configured_company(company)
    from orchestration.definitions import load as load_defs

    dirs = [(cap.CONTRACTS_DIR, cap.HTTP_DIR)]
    if cfg is not None:
        dirs.append((cfg.contracts_dir or cap.CONTRACTS_DIR, cfg.http_contracts_dir or cap.HTTP_DIR))
    owner = cap.raw_table_sources(dirs)
    needs = cap.asset_needs(load_defs(), owner)
    sources = sorted({s for n in needs for s in n.sources})
    from orchestration.lib.dbt import lodestar_dbt_project, prepare_manifest

    prepare_manifest(lodestar_dbt_project)
    empty_without = cap.declared_needs(lodestar_dbt_project.manifest_path)
    table = cap.render_matrix(needs, sources, empty_without)
    if update_readme:
        changed = cap.update_readme(PROJECT_ROOT / "README.md", table)
        console.print("README.md updated" if changed else "README.md already current")
        return
    has = cap.company_sources(cfg)
    if has is None:
        print(table)
        return
    out = Table(title=f"{cfg.company}: what each asset needs (sources: {', '.join(sorted(has)) or 'none'})")
    for col in ("asset", "status", "missing sources", "empty without"):
        out.add_column(col)
    for n in needs:
        missing = [s for s in n.sources if s not in has]
        status = "no source data" if n.sources and len(missing) == len(n.sources) else ("partial" if missing else "available")
        out.add_row(n.asset, status, ", ".join(missing), ", ".join(f"raw.{t}" for t in empty_without.get(n.asset, [])))
    console.print(out)


READ_ONLY_HINT = ("lodestar sql is read-only: it reads the warehouse and nothing else (no writes, files, attached "
                  "databases or settings); change data through the connectors and dbt")


def open_read_only(path: Path):
    """A DuckDB connection that can only read the warehouse: the file opened read-only, no files,
    other databases or extensions outside it, and settings locked so a query cannot undo that."""
    import duckdb

    return duckdb.connect(str(path), read_only=True, config={
        "enable_external_access": False, "lock_configuration": True})


@app.command()
def cockpit(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8600,
) -> None:
    """Serve the sales cockpit (pages and JSON API, /openapi.json) on 127.0.0.1 until Ctrl-C."""
    _prepare_env()
    from lodestar.cockpit.app import serve
    from lodestar.readpath import NoSnapshotError, current_snapshot, publish_snapshot

    try:
        current_snapshot()
    except NoSnapshotError:
        if not get_settings().warehouse_path.exists():
            console.print("[red]no warehouse yet:[/red] run `make demo` first")
            raise typer.Exit(2) from None
        publish_snapshot(get_settings().warehouse_path)
    console.print(f"sales cockpit on http://127.0.0.1:{port} (sign in with a user from `lodestar demo`'s summary)")
    serve("127.0.0.1", port)


def _analyst_snapshot(err: Console, fresh: bool = False):
    """The snapshot analysts read (lodestar.readpath): the current one, or one published now from the warehouse
    when none exists yet or ``fresh`` is asked for. Readers never open the pipeline's DuckDB file, so a reader
    held open never makes a run fail, and never sees a mart half rebuilt."""
    from lodestar.readpath import NoSnapshotError, current_snapshot, publish_snapshot

    path = get_settings().warehouse_path
    if not fresh:
        try:
            return current_snapshot()
        except NoSnapshotError:
            pass
    if not path.is_file():
        err.print(f"[red]error:[/] no warehouse at {path}: run `make demo` first (or set LODESTAR_WAREHOUSE)",
                  highlight=False)
        raise typer.Exit(2)
    # The copy holds the warehouse's read lock for seconds; a run writing right now is waited for (60 s at most).
    return publish_snapshot(path, lock_timeout=60.0)


@app.command()
def snapshot(
    fresh: Annotated[bool, typer.Option(help="publish a new snapshot from the warehouse first")] = False,
) -> None:
    """Print the path of the read-only warehouse snapshot analysts and the cockpit read (for a DuckDB client)."""
    print(_analyst_snapshot(Console(stderr=True), fresh=fresh).path)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run read-only against the warehouse's published snapshot")],
    limit: Annotated[int, typer.Option(help="rows to print at most")] = 50,
    fresh: Annotated[bool, typer.Option(help="publish a new snapshot from the warehouse first")] = False,
) -> None:
    """Query the warehouse's latest published snapshot read-only and print the result (writes are refused, and
    say so). The snapshot is the one the cockpit reads, published after every run: a query never blocks a run."""
    import duckdb

    err = Console(stderr=True)
    snap = _analyst_snapshot(err, fresh=fresh)
    try:
        con = open_read_only(snap.path)
        try:
            df = con.execute(query).df()
        finally:
            con.close()
    except duckdb.Error as exc:
        message = str(exc).strip()
        if "read-only" in message or "disabled by configuration" in message or "locked" in message.lower():
            err.print(f"[red]error:[/] {READ_ONLY_HINT} ({message.splitlines()[0]})", highlight=False)
        else:
            err.print(f"[red]error:[/] {message.splitlines()[0] if message else type(exc).__name__}",
                      highlight=False)
            for line in message.splitlines()[1:4]:  # DuckDB's hint lines: candidate columns, position
                err.print(f"  {line}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(show_lines=False)
    for column in df.columns:
        table.add_column(str(column))
    for row in df.head(limit).itertuples(index=False):
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
    if len(df) > limit:
        console.print(f"... {len(df) - limit} more rows")
    console.print(f"snapshot {snap.snapshot_id} ({snap.path})", style="dim", highlight=False, soft_wrap=True)


@app.command("pg-roles")
def pg_roles() -> None:
    """Create the PostgreSQL warehouse's roles (lodestar_pipeline, lodestar_analyst, lodestar_cockpit), once, as
    the cluster's administrator (LODESTAR_PG_*); passwords from LODESTAR_PG_{PIPELINE,ANALYST,COCKPIT}_PASSWORD.
    Then run dbt as lodestar_pipeline: its build grants the readers the marts and sets row-level security."""
    from lodestar.pgcopy import pg_dsn_from_env
    from lodestar.pgroles import create_roles

    for role, has_password in create_roles(pg_dsn_from_env()).items():
        console.print(f"{role}: {'password set' if has_password else 'no password (set its variable to add one)'}",
                      highlight=False)


@app.command("copy-raw")
def copy_raw(
    target: Annotated[str, typer.Option(help="the dbt target to copy the raw layer to: spark or postgres")],
    warehouse: Annotated[Path | None, typer.Option(help="the DuckDB warehouse (default: LODESTAR_WAREHOUSE)")] = None,
) -> None:
    """Copy the DuckDB warehouse's raw layer to another engine, so `dbt build --target spark|postgres` builds the
    same models there: Spark's local catalog under LODESTAR_SPARK_DIR, or the PostgreSQL of LODESTAR_PG_*.

    Run as its own process for Spark: the embedded Derby metastore admits one JVM at a time, and this one exits
    (releasing it) before dbt starts its own."""
    path = warehouse or get_settings().warehouse_path
    if target == "spark":
        from lodestar.sparkcopy import copy_raw_to_spark, spark_dir

        copied, where = copy_raw_to_spark(path), f"the Spark catalog in {spark_dir()}"
    elif target == "postgres":
        from lodestar.pgcopy import copy_raw_to_postgres

        copied, where = copy_raw_to_postgres(path), "PostgreSQL (LODESTAR_PG_*)"
    else:
        raise typer.BadParameter(f"--target must be spark or postgres, not {target!r}")
    console.print(f"copied {len(copied)} raw tables ({sum(copied.values()):,} rows) from {path} to {where}",
                  highlight=False)


@app.command()
def graph(
    update_readme: Annotated[bool, typer.Option(help="rewrite the picture in README.md")] = False,
    update_snapshot: Annotated[bool, typer.Option(
        help="rewrite the pinned definitions snapshot (tests/orchestration/definitions_snapshot.json)")] = False,
) -> None:
    """Print the asset graph by group (each asset with its upstream assets)."""
    _prepare_env()
    from lodestar import graph as graph_mod
    from orchestration.definitions import load as load_defs

    defs = load_defs()
    picture = graph_mod.render_asset_graph(defs)
    if update_snapshot:
        changed = graph_mod.write_snapshot(defs)
        console.print(f"{graph_mod.SNAPSHOT_PATH.name} " + ("updated" if changed else "already current"))
    if update_readme:
        changed = graph_mod.update_readme(PROJECT_ROOT / "README.md", picture)
        console.print("README.md updated" if changed else "README.md already current")
    elif not update_snapshot:
        print(picture)


@app.command("dbt-docs")
def dbt_docs(port: Annotated[int, typer.Option()] = 8080, serve: Annotated[bool, typer.Option()] = True) -> None:
    """Generate dbt's documentation site for the marts and serve it on 127.0.0.1."""
    _prepare_env()
    from orchestration.lib.dbt import DBT_PROJECT_DIR, dbt_executable

    base = [dbt_executable()]
    flags = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    code = subprocess.call([*base, "docs", "generate", *flags], cwd=DBT_PROJECT_DIR)
    if code or not serve:
        raise typer.Exit(code)
    console.print(f"dbt docs on http://127.0.0.1:{port} (Ctrl-C to stop)")
    raise typer.Exit(subprocess.call(
        [*base, "docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser", *flags],
        cwd=DBT_PROJECT_DIR,
    ))


@app.command("dagster-ui")
def dagster_ui(port: Annotated[int, typer.Option()] = 3000) -> None:
    """Open the Dagster UI (`dagster dev`) on 127.0.0.1, with the demo company's API served for its HTTP feeds."""
    _prepare_env()
    cmd = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
           "-h", "127.0.0.1", "-p", str(port)]
    with demo_api_env():
        raise typer.Exit(subprocess.call(cmd, cwd=PROJECT_ROOT))


@app.command("mlflow-ui")
def mlflow_ui(port: Annotated[int, typer.Option()] = 5000) -> None:
    """Open the MLflow UI on 127.0.0.1 over the project's tracking store (one worker, ~500 MiB)."""
    _prepare_env()
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [
        str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", settings.mlflow_tracking_uri,
        "--default-artifact-root", str(settings.home / "mlartifacts"),
    ]
    raise typer.Exit(subprocess.call(cmd, env=env))


@app.command()
def scenario(
    set_: Annotated[list[str], typer.Option("--set", help="lever=value, repeatable (see levers.yaml)")] = [],  # noqa: B006
    name: Annotated[str | None, typer.Option(help="also write the scenario to raw.forecast_scenarios")] = None,
    levers_file: Annotated[Path | None, typer.Option(help="base lever values (default: levers.yaml)")] = None,
) -> None:
    """Re-forecast the latest base forecast under changed levers; print the change by region and product line."""
    from lodestar.warehouse import Warehouse
    from ml.levers import LEVERS_FILE, LeverError, Levers, load_levers, parse_assignments
    from ml.scenario import ScenarioError, run_scenario, summarize

    try:
        base = load_levers(levers_file or LEVERS_FILE)
        levers = Levers.with_overrides(parse_assignments(set_), base=base)
        t0 = time.perf_counter()
        result = run_scenario(Warehouse(get_settings().warehouse_path), levers, name=name)
    except (LeverError, ScenarioError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table(title=f"Scenario {levers.changed() or '(all defaults)'}")
    for col in ("region", "product_line", "base", "scenario", "change", "change %"):
        table.add_column(col, justify="right" if col not in ("region", "product_line") else "left")
    for r in summarize(result).itertuples():
        table.add_row(str(r.region), str(r.product_line), f"{r.y_base:,.0f}", f"{r.y_scenario:,.0f}",
                      f"{r.delta:+,.0f}", f"{r.delta_pct:+.1f}%")
    tot = summarize(result, by=()).iloc[0]
    table.add_row("total", "", f"{tot.y_base:,.0f}", f"{tot.y_scenario:,.0f}", f"{tot.delta:+,.0f}", f"{tot.delta_pct:+.1f}%")
    console.print(table)
    console.print(f"{len(result)} grain-week rows re-forecast in {1000 * (time.perf_counter() - t0):.0f} ms (incl. load)")


def _emit_proposal(text: str, out: Path | None, loader, what: str) -> None:
    """Print a proposed contract, or write it to ``out`` and load it back (it must load as it is)."""
    from connectors.contracts import ContractLoadError

    if out is None:
        print(text)
        return
    out.write_text(text, encoding="utf-8")
    if loader is not None:
        try:
            loader(out)
        except ContractLoadError as exc:  # pragma: no cover - a bug in the inference
            console.print(f"[red]proposed {what} does not load:[/red] {exc}")
            raise typer.Exit(1) from None
    console.print(f"{what} written to {out}")


contract_app = typer.Typer(no_args_is_help=True, help="Propose and dry-run file contracts.")
app.add_typer(contract_app, name="contract")


@contract_app.command("infer")
def contract_infer(
    file: Annotated[Path, typer.Argument(help="a sample file: CSV (any delimiter, .gz too), Excel or JSON lines")],
    source: Annotated[str, typer.Option(help="source name, e.g. erp (raw tables raw.<source>_<feed>)")],
    feed: Annotated[str, typer.Option(help="feed name, e.g. orders")],
    out: Annotated[Path | None, typer.Option(help="write the YAML here (default: print it)")] = None,
) -> None:
    """Propose a contract YAML from a sample file; says what it is unsure of."""
    from connectors.contracts import load_source_contract
    from connectors.infer import InferError, infer_contract
    from lodestar.warehouse import Warehouse

    try:
        inference = infer_contract(file, source, feed, warehouse=Warehouse(get_settings().warehouse_path))
    except InferError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _emit_proposal(inference.yaml_text(), out, load_source_contract, "contract")
    err = Console(stderr=True)
    cols = inference.columns
    err.print(f"{inference.rows:,} rows, {len(cols)} columns; {inference.format}, {inference.encoding}"
              + (" with BOM" if inference.bom else "")
              + (f", delimiter {inference.delimiter!r}" if inference.delimiter else "")
              + f"; primary key {inference.primary_key}; {sum(c.canonical for c in cols)} canonical name(s), "
              f"{len(inference.references)} reference(s)")
    for note in inference.notes:
        err.print(f"[yellow]unsure:[/] {note}")


@contract_app.command("check")
def contract_check(
    file: Annotated[Path, typer.Argument(help="the file to dry-run")],
    contract: Annotated[Path | None, typer.Option(help="contract YAML (default: the contract whose feed glob matches)")] = None,
    feed: Annotated[str | None, typer.Option(help="feed name when the file name matches none or several")] = None,
    limit: Annotated[int, typer.Option(help="rejected rows to print at most (0 = all)")] = 50,
) -> None:
    """Dry-run a file against its contract with the connector's validation: counts and per-row reasons; writes nothing."""
    from connectors.contracts import ContractLoadError
    from connectors.dryrun import CheckError, check_file
    from lodestar.warehouse import Warehouse

    try:
        result = check_file(file, contract, feed, warehouse=Warehouse(get_settings().warehouse_path))
    except (CheckError, ContractLoadError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"{file}: feed {result.contract.source}.{result.feed.name} ({result.contract.path}), "
                  f"encoding {result.encoding}")
    console.print(f"rows seen {result.rows_seen:,}, [green]accepted {result.rows_accepted:,}[/], "
                  f"[red]rejected {result.rows_rejected:,}[/]"
                  + (f" ({', '.join(f'{k} {n}' for k, n in result.kinds().items())})" if result.rows_rejected else ""))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    shown = result.rejects if limit == 0 else result.rejects.head(limit)
    if len(shown):
        table = Table(title="rejected rows (row = 1-based data row; 0 = the whole file)")
        for col in ("row", "kind", "reason"):
            table.add_column(col, justify="right" if col == "row" else "left")
        for r in shown.itertuples():
            table.add_row(str(r._1), r.kind, r.reason)
        console.print(table)
        if len(shown) < result.rows_rejected:
            console.print(f"... {result.rows_rejected - len(shown)} more rejected rows (--limit 0 prints all)")
    rate = result.rows_rejected / max(result.rows_seen, 1)
    if rate > result.feed.reject_threshold:
        console.print(f"[red]reject rate {rate:.1%} is above the feed's threshold {result.feed.reject_threshold:.1%}[/]")
        raise typer.Exit(1)


connector_app = typer.Typer(no_args_is_help=True, help="Propose connectors for APIs.")
app.add_typer(connector_app, name="connector")


@connector_app.command("infer-http")
def connector_infer_http(
    url: Annotated[str, typer.Argument(help="a URL of the API that returns records, e.g. https://host/api/orders?page_size=100")],
    token_env: Annotated[str | None, typer.Option(help="env var holding the bearer token (its value is never printed)")] = None,
    name: Annotated[str | None, typer.Option(help="contract name = raw table (default: from the URL path)")] = None,
    source: Annotated[str | None, typer.Option(help="source name for the rejects table (default: first word of the name)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the YAML here (default: print it)")] = None,
) -> None:
    """Probe an API endpoint and propose an HTTP contract: data selector, pagination, updated-since cursor, columns."""
    from connectors.contracts import load_http_contract
    from connectors.infer_http import ProbeError, infer_http_contract

    token = None
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            console.print(f"[red]error:[/red] env var {token_env} is not set (it should hold the bearer token)")
            raise typer.Exit(2)
    try:
        inference = infer_http_contract(url, name=name, source=source, token_env=token_env, token=token)
    except ProbeError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    _emit_proposal(inference.yaml_text(), out, load_http_contract if inference.loadable else None, "HTTP contract")
    err = Console(stderr=True)
    err.print(f"{inference.records} records on the first page under {inference.data_selector!r}; "
              f"pagination {inference.paginator.get('type')}; cursor "
              f"{(inference.incremental or {}).get('cursor_field', 'none')}; primary key {inference.primary_key}")
    for note in inference.notes:
        err.print(f"[yellow]unsure:[/] {note}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
