"""The company's calendar (lodestar.yaml `calendar:`): its week start and fiscal year start bucket weeks and
quarters the same way in dbt (macros company_week, fiscal_quarter, fiscal_quarter_label), in the value reports
and their Dagster partitions, and in the forecast's quarter feature; the defaults are ISO weeks and calendar
quarters, as before the setting existed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from lodestar.company import Calendar, dbt_vars, load_company
from lodestar.reports.value_report import latest_complete_quarter, quarter_end, quarter_label, quarter_start
from lodestar.settings import PROJECT_ROOT
from ml.calendar import week_calendar
from orchestration.lib.dbt import dbt_executable

SUNDAY_APRIL = Calendar(week_start="sunday", fiscal_year_start_month=4)
DAYS = [date(2025, 12, 1) + timedelta(days=i) for i in range(520)]


def test_default_calendar_is_iso_weeks_and_calendar_quarters():
    cal = Calendar()
    for d in DAYS:
        assert cal.week_of(d) == d - timedelta(days=d.weekday())
        assert cal.quarter_label(d) == f"{d.year}Q{(d.month - 1) // 3 + 1}"
    assert cal.quarter_months() == [1, 4, 7, 10]
    assert quarter_start("2026Q3", cal) == date(2026, 7, 1) and quarter_end("2025Q4", cal) == date(2026, 1, 1)


def test_sunday_weeks_and_a_fiscal_year_from_april():
    cal = SUNDAY_APRIL
    assert cal.week_of(date(2026, 4, 4)) == date(2026, 3, 29)  # a Saturday closes the week of the Sunday before
    assert cal.week_of(date(2026, 4, 5)) == date(2026, 4, 5) == cal.week_of(date(2026, 4, 6))
    # FY2027 runs 2026-04-01 .. 2027-03-31 (named by the year it ends in).
    assert [cal.quarter_label(date(2026, m, 15)) for m in (3, 4, 7, 10)] == ["2026Q4", "2027Q1", "2027Q2", "2027Q3"]
    assert cal.quarter_label(date(2027, 1, 1)) == "2027Q4" and cal.quarter_label(date(2027, 4, 1)) == "2028Q1"
    assert quarter_start("2027Q1", cal) == date(2026, 4, 1) and quarter_end("2027Q4", cal) == date(2027, 4, 1)
    assert latest_complete_quarter(date(2026, 10, 15), cal) == "2027Q2"
    # A fiscal year not aligned with calendar quarters moves the quarter starts too.
    feb = Calendar(fiscal_year_start_month=2)
    assert feb.quarter_months() == [2, 5, 8, 11]
    assert quarter_start(feb.quarter_label(date(2026, 1, 31)), feb) == date(2025, 11, 1)
    assert quarter_end(feb.quarter_label(date(2026, 1, 31)), feb) == date(2026, 2, 1)


def test_the_company_file_calendar_reaches_dbt_and_the_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "contracts").mkdir()
    path = tmp_path / "lodestar.yaml"
    path.write_text("company: Acme\ncurrency: EUR\ncalendar: {week_start: sunday, fiscal_year_start_month: 4}\n"
                    "contracts_dir: contracts\n", encoding="utf-8")
    company = load_company(path)
    v = dbt_vars(company)
    assert (v["lodestar_week_start"], v["lodestar_fiscal_year_start_month"]) == ("sunday", 4)
    monkeypatch.setenv("LODESTAR_COMPANY", str(path))
    assert quarter_label(date(2026, 4, 1)) == "2027Q1"  # no calendar passed: the configured company's
    # The quarterly value reports' Dagster partitions start on the fiscal quarters' first days (a fiscal year
    # from November: quarters from February, May, August, November; April's start where calendar quarters do).
    path.write_text(path.read_text(encoding="utf-8").replace("fiscal_year_start_month: 4", "fiscal_year_start_month: 11"),
                    encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "LODESTAR_HOME": str(tmp_path / "home"),
           "LODESTAR_FORECAST_FIRST_WEEK": "2025-01-06", "LODESTAR_AS_OF": "2026-08-01"}
    code = ("from orchestration.reports.assets import QUARTER_PARTITIONS as p; "
            "from orchestration.defs.jobs import main_job; print(main_job.description); "
            "print(p.cron_schedule); print(','.join(p.get_partition_keys())); "
            "from orchestration.defs.forecast.assets import FORECAST_PARTITIONS as f, weekly_forecast_retraining as s; "
            "print(','.join(f.get_partition_keys())); print(s.cron_schedule, s.execution_timezone)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    description, cron, keys, forecast_keys, retrain = out.stdout.strip().splitlines()[-5:]
    # The forecast's weekly partitions are the company's Sunday weeks, from the Sunday week holding the first week
    # to the last complete week before as_of (Sunday 07-19 .. Saturday 07-25); the retraining runs on Sundays.
    forecast_keys = forecast_keys.split(",")
    assert (forecast_keys[0], forecast_keys[-1]) == ("2025-01-12", "2026-07-19")
    assert {date.fromisoformat(k).weekday() for k in forecast_keys} == {6}
    assert retrain == "0 2 * * 0 UTC"  # 02:00 on the first day of its week, in the calendar's (default) time zone
    # The Dagster UI names the company and its calendar on the main job.
    assert description.startswith(f"Company: Acme ({path}; currency EUR, weeks from sunday, fiscal year from month 11)")
    assert cron == "0 0 1 2,5,8,11 *"
    assert keys.split(",") == ["2025-02-01", "2025-05-01", "2025-08-01", "2025-11-01", "2026-02-01", "2026-05-01"]
    assert quarter_label(date(2026, 5, 1), Calendar(fiscal_year_start_month=11)) == "2026Q3"


def test_the_forecast_quarter_feature_counts_from_the_fiscal_year():
    weeks = pd.date_range("2026-03-02", periods=60, freq="W-MON")
    default = week_calendar(weeks, chinese=False)
    assert (default["cal_quarter"] == weeks.quarter).all()  # unchanged without a fiscal year
    fiscal = week_calendar(weeks, chinese=False, fiscal_year_start_month=4)
    expected = [float(int(SUNDAY_APRIL.quarter_label(w.date())[-1])) for w in weeks]
    assert fiscal["cal_quarter"].tolist() == expected
    assert fiscal.loc["2026-04-06", "cal_quarter"] == 1.0 and fiscal.loc["2026-03-30", "cal_quarter"] == 4.0


def test_dbt_macros_bucket_every_day_as_the_python_calendar(tmp_path: Path):
    """On DuckDB: company_week, fiscal_quarter and fiscal_quarter_label for every day of 17 months (Sunday weeks,
    fiscal year from April) equal lodestar.company.Calendar's."""
    first, last = DAYS[0], DAYS[-1]
    sql = ("select d, {{ company_week('d') }} as wk, {{ fiscal_quarter('d') }} as fq, {{ fiscal_quarter_label('d') }}"
           f" as lbl from (select cast(unnest(generate_series(date '{first}', date '{last}', interval 1 day)) "
           "as date) as d) s order by d")
    env = {**os.environ, "LODESTAR_WAREHOUSE": ":memory:", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    vars_ = json.dumps({"lodestar_week_start": "sunday", "lodestar_fiscal_year_start_month": 4})
    out = subprocess.run(
        [dbt_executable(), "show", "--inline", sql, "--vars", vars_, "--limit", str(len(DAYS)), "--output", "json",
         "--log-format", "json", "--project-dir", str(PROJECT_ROOT / "dbt_project"),
         "--profiles-dir", str(PROJECT_ROOT / "dbt_project"), "--target-path", str(tmp_path / "target")],
        env=env, capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT / "dbt_project")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    preview = next(json.loads(line)["data"]["preview"] for line in out.stdout.splitlines()
                   if line.startswith("{") and "preview" in json.loads(line).get("data", {}))
    rows = json.loads(preview) if isinstance(preview, str) else preview
    assert len(rows) == len(DAYS)
    for row, d in zip(rows, DAYS, strict=True):
        assert str(row["d"])[:10] == d.isoformat()
        fiscal_start = quarter_start(SUNDAY_APRIL.quarter_label(d), SUNDAY_APRIL)
        assert (str(row["wk"])[:10], str(row["fq"])[:10], row["lbl"]) == (
            SUNDAY_APRIL.week_of(d).isoformat(), fiscal_start.isoformat(), SUNDAY_APRIL.quarter_label(d)), row
