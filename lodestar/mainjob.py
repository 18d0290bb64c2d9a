"""Runs the main job (the whole asset graph) in process against this checkout's Dagster instance,
and prints the summary a data engineer reads after `make demo`."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lodestar.deadruns import end_dead_runs, owner_tags
from lodestar.progress import followed
from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse


@dataclass
class MainJobOutcome:
    success: bool
    run_id: str
    seconds: float
    materialized: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    partition_keys: list[str] = field(default_factory=list)
    log_file: Path | None = None
    warnings: list[str] = field(default_factory=list)  # failed WARN checks (a feed that matched no file, ...)
    failures: dict[str, str] = field(default_factory=dict)  # failed step -> its error message

    @property
    def failed_checks(self) -> list[str]:
        return sorted(k for k, ok in self.checks.items() if not ok)

    @property
    def ok(self) -> bool:
        """The run succeeded and every asset check passed: what ``lodestar demo``'s exit code reports."""
        return self.success and not self.failed_checks

    def absorb(self, later: MainJobOutcome) -> None:
        """Fold a follow-up run (the forecast history, the value reports) into this outcome: one summary and
        exit code for the command."""
        self.success = self.success and later.success
        self.failed_steps += later.failed_steps
        self.checks.update(later.checks)
        self.warnings += later.warnings
        self.failures.update(later.failures)


def run_main_job(tags: dict[str, str] | None = None, partition_key: str | None = None,
                 select: str | None = None, console: Console | None = None,
                 log_file: Path | None = None) -> MainJobOutcome:
    """Execute ``main`` in this process, recorded in $DAGSTER_HOME so the UI shows the run.

    The forecast assets are partitioned by week: ``partition_key`` picks the forecast origin week,
    default the latest partition. ``select`` runs a subset of the graph, in Dagster's asset selection
    syntax (``tag:layer=landing``, ``group:erp``, ``key:marts/*``); a selection matching nothing is an error.
    With ``console`` and ``log_file``, progress goes to the console (a line per finished step) and the full
    Dagster / dbt log to the file (:mod:`lodestar.progress`).
    """
    import dagster as dg
    from dagster._core.utils import make_new_run_id

    from orchestration.definitions import load as load_defs

    defs = load_defs()

    job = defs.resolve_job_def("main")
    if partition_key is None and job.partitions_def is not None:
        partition_key = job.partitions_def.get_last_partition_key()
    asset_selection = None
    if select:
        # A selection that cuts through a multi-asset (e.g. one output of the complaint signals) takes the
        # whole multi-asset: Dagster cannot run part of one that does not support subsetting.
        asset_selection = sorted(dg.AssetSelection.from_string(select).required_multi_asset_neighbors()
                                 .resolve(defs.resolve_asset_graph()), key=str)
        if not asset_selection:
            raise ValueError(f"asset selection {select!r} matches no asset of the main job")
    started = time.perf_counter()
    run_id = make_new_run_id()
    from orchestration.defs.dbt.assets import lodestar_dbt_assets

    runs_dbt = asset_selection is None or bool(set(asset_selection) & set(lodestar_dbt_assets.keys))
    with run_dbt_state(console, enabled=runs_dbt), dg.DagsterInstance.get() as instance:
        for dead in end_dead_runs(instance):
            if console is not None:
                console.print(f"[yellow]run {dead} was killed before it ended: marked failed, its pool slot freed[/]")
        for batch in Warehouse(get_settings().warehouse_path).clear_dead_batches():
            if console is not None:
                console.print(f"[yellow]batch {batch.get('batch_id')} ({batch.get('what')}) was open when its process "
                              f"{batch.get('pid')} died: DuckDB discarded its uncommitted writes[/]")
        follow = (followed(instance, run_id, console, log_file) if console is not None and log_file is not None
                  else contextlib.nullcontext())
        with follow:
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags={**(tags or {}), **owner_tags()},
                partition_key=partition_key,
                asset_selection=asset_selection,
                run_id=run_id,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
    outcome = _outcome([result], started)
    outcome.log_file = log_file
    return outcome


@contextlib.contextmanager
def run_dbt_state(console: Console | None = None, enabled: bool = True):
    """One dbt parse for the run, with the configured company's vars (none for the demo) and this home's profile,
    which every dbt step of the block reuses (its artifacts under $LODESTAR_HOME/dbt_target, so runs of other
    companies or homes never swap parse states); ``enabled=False`` (a selection with no dbt asset) changes
    nothing."""
    from lodestar.company import dbt_vars, environ_overrides
    from orchestration.lib.dbt import prepare_run_parse

    if not enabled:
        yield
        return
    company_vars = dbt_vars()
    state_dir = get_settings().home / "dbt_target"
    state_dir.mkdir(parents=True, exist_ok=True)
    with environ_overrides({"DBT_TARGET_PATH": str(state_dir)}):
        parsed = prepare_run_parse(company_vars, state_dir)
        if parsed is not None and console is not None:
            console.print(f"dbt project parsed for this run in {parsed:.1f}s (every dbt step reuses it)")
        yield


def _outcome(results: list, started: float, partition_keys: list[str] | None = None) -> MainJobOutcome:
    """One outcome for one or more in-process runs: assets materialised, check results, failed steps."""
    materialized: set[str] = set()
    checks: dict[str, bool] = {}
    failed: list[str] = []
    warnings: list[str] = []
    failures: dict[str, str] = {}
    for result in results:
        materialized |= {e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key}
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                # A failed WARN-severity check (a dbt test with severity: warn) is reported, not fatal.
                warn_only = getattr(evaluation.severity, "value", "ERROR") == "WARN"
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                checks[name] = evaluation.passed or warn_only
                if warn_only and not evaluation.passed:
                    warnings.append(f"{name}: {getattr(evaluation, 'description', None) or 'failed'}")
            elif event.event_type_value == "STEP_FAILURE" and event.step_key:
                failed.append(event.step_key)
                failures[event.step_key] = _error_message(event.event_specific_data.error)
    return MainJobOutcome(
        success=all(r.success for r in results),
        run_id=results[-1].run_id,
        seconds=time.perf_counter() - started,
        materialized=sorted(materialized),
        failed_steps=failed,
        checks=checks,
        partition_keys=partition_keys or [],
        warnings=warnings,
        failures=failures,
    )


def _error_message(error) -> str:
    """The innermost cause of a step's error, first line (Dagster wraps what the asset raised)."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return (getattr(error, "message", "") or "").strip().splitlines()[0] if error is not None else ""


def _logged_to(log_file: Path | None) -> contextlib.ExitStack:
    """Stdout and stderr of a follow-up run appended to the main job's log file (nothing redirected without one)."""
    quiet = contextlib.ExitStack()
    if log_file is not None:
        fh = quiet.enter_context(log_file.open("a", encoding="utf-8"))
        quiet.enter_context(contextlib.redirect_stdout(fh))
        quiet.enter_context(contextlib.redirect_stderr(fh))
    return quiet


def run_forecast_history(weeks: int, log_file: Path | None = None) -> MainJobOutcome:
    """Forecast the ``weeks`` origins before the latest, and the origin the sandbox needs for the last full
    month, from @champion (job ``forecast_history``, one run per origin), then rebuild what compares forecasts
    with actuals (job ``forecast_marts``: forecast_accuracy, warning_lights, the forecast sandbox).

    After a first main job every forecast week lies in the future, so forecast_accuracy, the red light and the
    sandbox have nothing to score; these origins' weeks already have actuals. The champion was trained on data that
    includes those weeks, so this seeded history is in-sample (optimistic); the weekly schedule's forecasts
    are out of sample from then on.
    """
    import dagster as dg

    from orchestration.definitions import load as load_defs

    defs = load_defs()
    from orchestration.defs.forecast.assets import history_partition_keys

    started = time.perf_counter()
    keys = history_partition_keys(weeks)
    quiet = _logged_to(log_file)
    with quiet, run_dbt_state(), dg.DagsterInstance.get() as instance:
        end_dead_runs(instance)
        tags = {"trigger": "demo_history", **owner_tags()}
        results = [defs.resolve_job_def("forecast_history").execute_in_process(
            instance=instance, raise_on_error=False, partition_key=key, tags=tags)
            for key in keys]
        results.append(defs.resolve_job_def("forecast_marts").execute_in_process(
            instance=instance, raise_on_error=False, tags=tags))
    return _outcome(results, started, keys)


def run_value_reports(partition_key: str | None = None, log_file: Path | None = None) -> MainJobOutcome:
    """Write the quarterly value reports of one quarter (job ``value_reports``: the reports, then the
    efficiency benchmark that counts them), by default the last complete quarter of the data."""
    import dagster as dg

    from orchestration.definitions import load as load_defs

    job = load_defs().resolve_job_def("value_reports")
    key = partition_key or job.partitions_def.get_last_partition_key()
    if key is None:
        raise ValueError("the value reports have no complete quarter yet (the data ends inside its first quarter)")
    started = time.perf_counter()
    quiet = _logged_to(log_file)
    with quiet, run_dbt_state(), dg.DagsterInstance.get() as instance:
        end_dead_runs(instance)
        result = job.execute_in_process(instance=instance, raise_on_error=False, partition_key=key,
                                        tags={"trigger": "demo_value_reports", **owner_tags()})
    return _outcome([result], started, [key])


def _raw_tables(warehouse: Warehouse, condition: str) -> list[str]:
    """Names of the raw tables meeting an SQL ``condition`` on table_name, sorted; none before the first load."""
    if not warehouse.path.exists():
        return []
    return warehouse.query(
        f"select table_name from information_schema.tables where table_schema = 'raw' and {condition} order by 1"
    )["table_name"].tolist()


def raw_table_counts(warehouse: Warehouse) -> list[tuple[str, int]]:
    """Row counts of every landed raw table (connector bookkeeping tables left out)."""
    tables = _raw_tables(warehouse, "table_name not like '\\_%' escape '\\' and table_name not like '%rejects'")
    return [(t, warehouse.row_count("raw", t)) for t in tables]


def reject_summary(warehouse: Warehouse) -> list[tuple[str, int, str]]:
    """(rejects table.feed, rows, "kind n, kind n, ...") for every rejects table in raw."""
    tables = _raw_tables(warehouse, "table_name like '%\\_rejects' escape '\\'")
    out: list[tuple[str, int, str]] = []
    for table in tables:
        df = warehouse.query(
            f"""select feed, sum(n)::bigint as total, string_agg(kind || ' ' || n, ', ' order by n desc, kind) as kinds
                from (select feed, kind, count(*) as n from raw."{table}" group by all) group by feed order by feed"""
        )
        out.extend((f"{table}.{r.feed}", int(r.total), r.kinds) for r in df.itertuples())
    return out


def print_summary(outcome: MainJobOutcome, console: Console, elapsed: float | None = None) -> None:
    settings = get_settings()
    warehouse = Warehouse(settings.warehouse_path)
    failed_checks = outcome.failed_checks
    if outcome.ok:
        status = "[green]succeeded[/]"
    elif outcome.success:
        status = f"[red]FAILED[/] ({len(failed_checks)} asset check(s) failed)"
    else:
        status = "[red]FAILED[/]"
    console.print(f"\n[bold]main job {status}[/] run {outcome.run_id} in {outcome.seconds:.1f}s")
    console.print(f"assets materialised: {len(outcome.materialized)}")
    if outcome.failed_steps:
        console.print(f"[red]failed steps:[/] {', '.join(outcome.failed_steps)}")
        for step, message in outcome.failures.items():
            if message:
                console.print(f"  [red]{step}:[/] {message}", highlight=False, soft_wrap=True)
    if outcome.warnings:
        console.print(f"[yellow]warnings: {len(outcome.warnings)}[/]")
        for text in outcome.warnings[:20]:
            console.print(f"  [yellow]warning[/] {text}", highlight=False, soft_wrap=True)
    console.print(f"asset checks: {len(outcome.checks) - len(failed_checks)} passed, {len(failed_checks)} failed")
    for name in failed_checks:
        console.print(f"  [red]failed check[/] {name}")

    try:
        landed_rows, rejected_rows = raw_table_counts(warehouse), reject_summary(warehouse)
    except Exception as exc:  # noqa: BLE001 - a run that broke the warehouse still gets its summary
        console.print(f"[red]cannot read the warehouse {settings.warehouse_path}:[/] {type(exc).__name__}: {exc}")
        landed_rows, rejected_rows = [], []
    landed = Table(title="rows landed per raw table", show_lines=False)
    landed.add_column("raw table")
    landed.add_column("rows", justify="right")
    for table, n in landed_rows:
        landed.add_row(f"raw.{table}", f"{n:,}")
    console.print(landed)

    rejected = Table(title="rows rejected (in raw.<source>_rejects with reason and payload)")
    rejected.add_column("rejects table.feed")
    rejected.add_column("rows", justify="right")
    rejected.add_column("why")
    for feed, n, kinds in rejected_rows:
        rejected.add_row(feed, f"{n:,}", kinds)
    console.print(rejected)

    if outcome.log_file is not None:
        console.print(f"full Dagster and dbt log: {outcome.log_file}")
    console.print(f"\nwarehouse (DuckDB): {settings.warehouse_path}")
    console.print("open the UIs (both bind 127.0.0.1):")
    console.print("  Dagster:  make dagster-ui   -> http://127.0.0.1:3000")
    console.print("  MLflow:   make mlflow-ui    -> http://127.0.0.1:5000")
    console.print('  SQL:      .venv/bin/lodestar sql "show all tables"   (read-only, on the published snapshot; '
                  'a DuckDB client: duckdb -readonly "$(.venv/bin/lodestar snapshot)")')
    console.print("  Cockpit:  make cockpit      -> http://127.0.0.1:8600")
    print_cockpit_users(console, settings.home)


def print_cockpit_users(console: Console, home, limit: int = 6) -> None:
    """The cockpit's demo users and passwords (raw/cockpit_users); all of them are in the file named."""
    from lodestar.cockpit.users import demo_passwords_file, read_demo_passwords

    users = read_demo_passwords(home)
    if not users:
        return
    table = Table(title="cockpit demo users (passwords stored as scrypt hashes in raw.cockpit_users)")
    for col in ("username", "password", "role", "sees"):
        table.add_column(col)
    shown = [u for u in users if u["role"] == "sales_director"]
    shown += [u for u in users if u["role"] == "account_manager"][:3]
    shown += [u for u in users if u["role"] == "csg_member"][:2]
    for u in shown[:limit]:
        table.add_row(u["username"], u["password"], u["role"], u["principal_id"] or "everything")
    console.print(table)
    console.print(f"all {len(users)} demo users and passwords: {demo_passwords_file(home)}")
