"""Money carries the company's currency (issue 16): the formatting the cockpit pages and the value report share,
the snapshot reader's currency for a non-CNY company, and the value report's amount labels in USD."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from lodestar import currency
from lodestar.cockpit.data import Reader
from lodestar.readpath import Snapshot
from lodestar.reports.value_report import ReportData, render_html


def test_amounts_carry_the_code_and_the_units_their_words():
    assert currency.money(1234567.4, "USD") == "1,234,567 USD"
    assert currency.money(1234.567, "cny", digits=2) == "1,234.57 CNY"
    assert currency.money(None, "USD") == "–" and currency.money(float("nan"), "USD") == "–"
    assert currency.code(None) == "CNY" and currency.code(" eur ") == "EUR"
    assert currency.ten_thousands("CNY", "zh") == "万元" and currency.ten_thousands("USD", "zh") == "万美元"
    assert currency.ten_thousands("USD", "en") == "10k USD"
    assert currency.bilingual("USD") == "美元 USD" and currency.bilingual("CHF") == "CHF"


def _snapshot(tmp_path, with_currency: bool) -> Snapshot:
    path = tmp_path / f"snap-{with_currency}.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    cols = "customer_id varchar, currency varchar" if with_currency else "customer_id varchar"
    con.execute(f"create table marts.customer_360 ({cols})")
    con.execute("insert into marts.customer_360 values " + ("('C1', 'USD'), ('C2', 'USD')" if with_currency
                                                            else "('C1'), ('C2')"))
    con.close()
    return Snapshot(path, path.stem, 0.0)


def test_reader_currency_is_the_companys_and_the_default_before_it(tmp_path):
    r = Reader(_snapshot(tmp_path, True))
    try:
        assert r.currency == "USD"
    finally:
        r.close()
    r = Reader(_snapshot(tmp_path, False))  # a snapshot from before customer_360 had the column
    try:
        assert r.currency == "CNY"
    finally:
        r.close()


def test_value_report_states_amounts_in_the_companys_currency():
    months = pd.DataFrame({"month": [date(2026, m, 1) for m in range(1, 10)], "amount": [1000.0] * 9,
                           "units": [10] * 9})
    d = ReportData(customer_id="C1", legal_name="Acme Supply", quarter="2026Q3", account_manager_id=None,
                   region=None, csg_id=None, engagement_month=None,
                   kpis=pd.DataFrame(columns=["kpi_name", "kpi_unit", "baseline_month", "baseline_value",
                                              "quarter_value", "change", "change_pct"]),
                   kpi_history=pd.DataFrame(columns=["kpi_name", "kpi_unit", "quarter_start", "quarter_value"]),
                   health={}, orders=months, forecast=pd.DataFrame(columns=["week_start", "forecast", "actual"]),
                   currency="USD")
    html = render_html(d)
    assert "金额 amount (美元 USD)" in html and "monthly order amount (美元 USD)" in html
    assert "币种 currency USD" in html
    assert "(元)" not in html
