"""The quarterly value report asset on a small demo warehouse: one quarter materialised through Dagster, the PDF's
text (pypdfium2) and the HTML hold the KPI figures the marts give, files land where the contract says, a re-run
replaces the quarter's rows instead of adding to them."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pandas as pd
import pypdfium2
import pytest
from declared_reads import ReadRecorder

from lodestar.reports.value_report import (
    ValueReportError,
    latest_complete_quarter,
    quarter_end,
    quarter_start,
)


def _materialise(rw) -> dg.ExecuteInProcessResult:
    from orchestration.lib.resources import WarehouseResource
    from orchestration.reports.assets import value_reports

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LODESTAR_HOME", str(rw.home))
        return dg.materialize([value_reports], partition_key=rw.partition_key,
                              resources={"warehouse": WarehouseResource(path=str(rw.warehouse.path))})


def _pdf_text(path: Path) -> str:
    doc = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


@pytest.fixture(scope="module")
def first_run(report_warehouse) -> pd.DataFrame:
    from orchestration.reports.assets import value_reports

    with ReadRecorder([value_reports]) as reads:
        result = _materialise(report_warehouse)
    assert result.success
    reads.assert_declared_equals_read()
    return report_warehouse.warehouse.query("select * from raw.value_reports order by customer_id")


def test_reports_for_every_key_customer_where_the_contract_says(report_warehouse, first_run):
    rw = report_warehouse
    keys = rw.warehouse.query("select customer_id from intermediate.int_key_customers order by 1")["customer_id"]
    assert len(keys) > 0 and first_run["customer_id"].tolist() == keys.tolist()
    assert set(first_run["quarter"]) == {rw.quarter}
    folder = rw.home / "reports" / "value" / rw.quarter
    for r in first_run.itertuples():
        assert Path(r.pdf_path) == folder / f"{r.customer_id}.pdf" and Path(r.pdf_path).stat().st_size > 0
        assert Path(r.html_path) == folder / f"{r.customer_id}.html"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{c}.{ext}" for c in keys for ext in ("html", "pdf"))  # no temporary file left behind


def test_pdf_and_html_hold_the_kpi_figures_of_the_marts(report_warehouse, first_run):
    rw = report_warehouse
    start, end = quarter_start(rw.quarter), quarter_end(rw.quarter)
    # Independently of the report code: the customer's KPIs in the quarter, straight from the mart.
    kpis = rw.warehouse.query(
        "select customer_id, kpi_name, baseline_value, quarter_value, change_pct from marts.value_realization "
        "where quarter_start = ? and customer_id in (select customer_id from raw.value_reports)", [start])
    assert len(kpis) > 0
    customer = kpis.groupby("customer_id").size().idxmax()
    row = first_run[first_run["customer_id"] == customer].iloc[0]
    pdf_text, page = _pdf_text(Path(row.pdf_path)), Path(row.html_path).read_text(encoding="utf-8")
    legal_name = rw.warehouse.query("select legal_name from marts.customer_360 where customer_id = ?",
                                    [customer])["legal_name"].iloc[0]
    for text in (pdf_text, page):
        assert "季度价值报告" in text and rw.quarter in text and legal_name in text
        for k in kpis[kpis["customer_id"] == customer].itertuples():
            assert k.kpi_name in text
            for figure in (f"{k.baseline_value:.2f}", f"{k.quarter_value:.2f}", f"{k.change_pct:+.1f}%"):
                assert figure in text, f"{customer} {k.kpi_name}: {figure} missing"
    health = rw.warehouse.query("select health_score from marts.customer_health where customer_id = ?", [customer])
    assert f"{health['health_score'].iloc[0]:.1f}" in pdf_text
    amount = rw.warehouse.query(
        "select coalesce(sum(order_amount), 0) a from staging.stg_erp__orders where customer_id = ? "
        "and order_status <> 'cancelled' and order_date >= ? and order_date < ?", [customer, start, end])["a"].iloc[0]
    assert f"{amount:.2f}" in pdf_text
    # charts are inline SVG in the HTML (nothing fetched from elsewhere) and the forecast section has data
    assert page.count("<svg") >= 3
    assert "<script" not in page and "<link" not in page and not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "预测与实际" in pdf_text and "no forecast was made" not in pdf_text


def test_rerun_replaces_the_quarter_and_adds_no_rows(report_warehouse, first_run):
    result = _materialise(report_warehouse)
    assert result.success
    again = report_warehouse.warehouse.query("select * from raw.value_reports order by customer_id")
    assert len(again) == len(first_run)
    assert again[["customer_id", "quarter"]].duplicated().sum() == 0
    assert (again["created_at"] >= first_run["created_at"].max()).all()


def test_quarter_labels():
    from datetime import date

    assert latest_complete_quarter(date(2026, 11, 21)) == "2026Q3"
    assert latest_complete_quarter(date(2026, 1, 5)) == "2025Q4"
    assert quarter_end("2025Q4") == date(2026, 1, 1)
    with pytest.raises(ValueReportError, match="YYYYQn"):
        quarter_start("2026-07")
