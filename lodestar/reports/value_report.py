"""Quarterly value reports (季度价值报告): per key customer and quarter, one HTML page with charts and the same page
as PDF, listed in ``raw.value_reports``.

Key customers are ``intermediate.int_key_customers`` (high strategic value in the customer matrix, KPIs tracked).
A report shows the customer's own KPIs against the month the engagement began (``marts.value_realization``), its
health index now and in the period before (``marts.customer_health``), its ERP orders by month and the demand
forecast split to the customer against what it ordered. Files go to ``<root>/<quarter>/<customer_id>.pdf|.html``,
each written to a temporary file and moved into place, so a reader never sees half a report.
"""

from __future__ import annotations

import html
import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from lodestar import currency as money_unit
from lodestar.company import Calendar, company_calendar
from lodestar.warehouse import Warehouse

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
REPORTS_TABLE = ("raw", "value_reports")
FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans CJK JP', 'DejaVu Sans', sans-serif"
# The forecast-vs-actual section runs from the quarter's first week to one forecast horizon (13 weeks) after it, so a
# report made after the quarter also shows how the latest forecasts did and what they expect next.
FORECAST_WEEKS = 13


class ValueReportError(ValueError):
    """A report cannot be made: the message names the quarter, customer or table."""


def quarter_label(d: date, calendar: Calendar | None = None) -> str:
    """``2026Q3`` for any day of that quarter: the company's fiscal quarter (calendar quarters by default)."""
    return (calendar or company_calendar()).quarter_label(d)


def quarter_start(label: str, calendar: Calendar | None = None) -> date:
    m = QUARTER_RE.match(label or "")
    if not m:
        raise ValueReportError(f"quarter {label!r} is not of the form YYYYQn (e.g. 2026Q3)")
    return (calendar or company_calendar()).quarter_start(int(m.group(1)), int(m.group(2)))


def quarter_end(label: str, calendar: Calendar | None = None) -> date:
    """The first day after the quarter."""
    calendar = calendar or company_calendar()
    return quarter_start(quarter_label(quarter_start(label, calendar) + timedelta(days=92), calendar), calendar)


def latest_complete_quarter(as_of: date, calendar: Calendar | None = None) -> str:
    """The last quarter that ended before ``as_of``."""
    calendar = calendar or company_calendar()
    return quarter_label(quarter_start(quarter_label(as_of, calendar), calendar) - timedelta(days=1), calendar)


@dataclass
class ReportData:
    """Everything one report shows; figures are as the marts hold them."""

    customer_id: str
    legal_name: str
    quarter: str
    account_manager_id: str | None
    region: str | None
    csg_id: str | None
    engagement_month: date | None
    kpis: pd.DataFrame          # kpi_name, kpi_unit, baseline_month, baseline_value, quarter_value, change, change_pct
    kpi_history: pd.DataFrame   # kpi_name, kpi_unit, quarter_start, quarter_value (quarters up to this one)
    health: dict
    orders: pd.DataFrame        # month, amount, units: the 12 months up to the quarter's end
    forecast: pd.DataFrame      # week_start, forecast, actual: weeks from the quarter on with a forecast made before
    currency: str = money_unit.DEFAULT  # the company's (marts.customer_360.currency): the unit of every amount


def key_customers(wh: Warehouse) -> list[str]:
    if not wh.table_exists("intermediate", "int_key_customers"):
        raise ValueReportError("intermediate.int_key_customers does not exist yet: build the dbt models first")
    return [str(c) for c in wh.query(
        "select customer_id from intermediate.int_key_customers order by customer_id")["customer_id"]]


def _forecast_vs_actual(wh: Warehouse, customer_id: str, start: date, end: date) -> pd.DataFrame:
    """Weekly forecast split to the customer (each week from the latest origin before it, latest run of that
    origin, shares as of the origin) against the units it ordered that week."""
    from ml.customer_split import split_grain_forecast

    empty = pd.DataFrame(columns=["week_start", "forecast", "actual"])
    if not wh.table_exists("staging", "stg_forecast__predictions"):
        return empty
    fc = wh.query(
        "with latest as (select origin_week, arg_max(run_id, created_at) as run_id "
        "                from staging.stg_forecast__predictions group by origin_week), "
        "p as (select p.* from staging.stg_forecast__predictions p join latest l using (origin_week, run_id) "
        "      where p.week_start >= ? and p.week_start < ? and p.origin_week < p.week_start), "
        "pick as (select week_start, max(origin_week) as origin_week from p group by week_start) "
        "select p.origin_week, p.account_manager_id, p.sku_id, p.channel, p.week_start, p.y_hat "
        "from p join pick using (week_start, origin_week) "
        "where p.account_manager_id in (select distinct account_manager_id from staging.stg_erp__orders "
        "                               where customer_id = ?)",
        [start, end, customer_id])
    if fc.empty:
        return empty
    orders = wh.query(
        "select customer_id, account_manager_id, sku_id, channel, order_date, cast(quantity as double) as quantity "
        "from staging.stg_erp__orders where order_status <> 'cancelled' and account_manager_id in "
        "(select distinct account_manager_id from staging.stg_erp__orders where customer_id = ?)", [customer_id])
    orders["order_date"] = pd.to_datetime(orders["order_date"])
    fc["origin_week"] = pd.to_datetime(fc["origin_week"])
    fc["week_start"] = pd.to_datetime(fc["week_start"])
    parts = []
    for origin, f in fc.groupby("origin_week"):
        split = split_grain_forecast(f, orders, as_of=origin + pd.Timedelta(days=6))
        parts.append(split[split["customer_id"].astype(str) == customer_id])
    split = pd.concat(parts) if parts else fc.iloc[0:0]
    weekly = split.groupby("week_start", as_index=False)["y_hat"].sum().rename(columns={"y_hat": "forecast"})
    mine = orders[orders["customer_id"].astype(str) == customer_id]
    weekday = int(fc["week_start"].iloc[0].dayofweek)  # the forecast's own weeks: the company's week start
    days_in = (mine["order_date"].dt.dayofweek - weekday) % 7
    mine = mine.assign(week_start=mine["order_date"] - pd.to_timedelta(days_in, unit="D"))
    actual = mine.groupby("week_start", as_index=False)["quantity"].sum().rename(columns={"quantity": "actual"})
    last_actual_week = wh.query("select max(order_date) as d from staging.stg_erp__orders")["d"].iloc[0]
    out = weekly.merge(actual, on="week_start", how="left")
    # A week counts as 0 ordered only once its orders are in; later weeks have no actual yet.
    known = out["week_start"] + pd.Timedelta(days=6) <= pd.Timestamp(last_actual_week)
    out["actual"] = out["actual"].where(out["actual"].notna() | ~known, 0.0)
    out.loc[~known, "actual"] = float("nan")
    return out.sort_values("week_start").reset_index(drop=True)


def load_report_data(wh: Warehouse, customer_id: str, quarter: str) -> ReportData:
    """Read one customer's report for ``quarter`` (``YYYYQn``) from the marts."""
    start, end = quarter_start(quarter), quarter_end(quarter)
    has_currency = bool(len(wh.query(
        "select 1 from information_schema.columns where table_schema = 'marts' and table_name = 'customer_360' "
        "and column_name = 'currency'")))
    c = wh.query("select customer_id, legal_name, account_manager_id, region, csg_id, "
                 f"{'currency' if has_currency else 'null'} as currency from marts.customer_360 "
                 "where customer_id = ?", [customer_id])
    if c.empty:
        raise ValueReportError(f"customer {customer_id!r} is not in marts.customer_360")
    row = c.iloc[0]
    vr = wh.query(
        "select kpi_name, kpi_unit, quarter_start, engagement_month, baseline_month, baseline_value, quarter_value, "
        "change_since_engagement as change, change_pct from marts.value_realization "
        "where customer_id = ? and quarter_start < ? order by kpi_name, quarter_start", [customer_id, end])
    kpis = vr[pd.to_datetime(vr["quarter_start"]).dt.date == start].reset_index(drop=True)
    engagement = vr["engagement_month"].dropna()
    h = wh.query("select health_score, health_colour, previous_health_score, health_trend, trend_direction, "
                 "period_start, period_end from marts.customer_health where customer_id = ?", [customer_id])
    health = h.iloc[0].to_dict() if len(h) else {}
    months_from = date(end.year - 1, end.month, 1)
    orders = wh.query(
        "select cast(date_trunc('month', order_date) as date) as month, sum(order_amount) as amount, "
        "sum(quantity) as units from staging.stg_erp__orders "
        "where customer_id = ? and order_status <> 'cancelled' and order_date >= ? and order_date < ? "
        "group by 1 order by 1", [customer_id, months_from, end])
    months = pd.DataFrame({"month": pd.date_range(months_from, end, freq="MS", inclusive="left").date})
    orders["month"] = pd.to_datetime(orders["month"]).dt.date
    orders = months.merge(orders, on="month", how="left").fillna({"amount": 0.0, "units": 0})
    return ReportData(
        customer_id=customer_id, legal_name=str(row["legal_name"]), quarter=quarter,
        account_manager_id=None if pd.isna(row["account_manager_id"]) else str(row["account_manager_id"]),
        region=None if pd.isna(row["region"]) else str(row["region"]),
        csg_id=None if pd.isna(row["csg_id"]) else str(row["csg_id"]),
        engagement_month=pd.Timestamp(engagement.iloc[0]).date() if len(engagement) else None,
        kpis=kpis, kpi_history=vr[["kpi_name", "kpi_unit", "quarter_start", "quarter_value"]].reset_index(drop=True),
        health=health, orders=orders,
        forecast=_forecast_vs_actual(wh, customer_id, start, end + timedelta(weeks=FORECAST_WEEKS)),
        currency=money_unit.code(row["currency"] if pd.notna(row["currency"]) else None),
    )


# ---------- formatting: the PDF and the HTML show the same strings, so tests and readers can compare them


def fmt_value(v: object, digits: int = 2) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.{digits}f}"


def fmt_pct(v: object) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):+.1f}%"


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inline in the HTML


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 8, "axes.spines.top": False,
                         "axes.spines.right": False,
                         "font.family": ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]})
    return plt


def charts(d: ReportData) -> dict[str, str]:
    """Inline SVG charts (text stays text, so it is searchable in the PDF too)."""
    plt = _pyplot()
    out: dict[str, str] = {}
    names = list(dict.fromkeys(d.kpi_history["kpi_name"]))
    if names:
        fig, axes = plt.subplots(1, len(names), figsize=(2.0 * len(names), 1.9), squeeze=False)
        for ax, name in zip(axes[0], names, strict=False):
            s = d.kpi_history[d.kpi_history["kpi_name"] == name]
            x = pd.to_datetime(s["quarter_start"])
            ax.plot(x, s["quarter_value"], color="#2b6cb0", lw=1.2)
            base = d.kpis.loc[d.kpis["kpi_name"] == name, "baseline_value"]
            if len(base) and pd.notna(base.iloc[0]):
                ax.axhline(float(base.iloc[0]), color="#999", ls="--", lw=0.8)
            if d.engagement_month:
                ax.axvline(pd.Timestamp(d.engagement_month), color="#c05621", lw=0.8)
            unit = s["kpi_unit"].iloc[0] if len(s) else ""
            ax.set_title(f"{name}（{unit}）", fontsize=8)
            ax.tick_params(axis="x", labelrotation=45, labelsize=6)
        out["kpi"] = _svg(fig)
    if d.health:
        fig, ax = plt.subplots(figsize=(3.2, 1.8))
        vals = [d.health.get("previous_health_score"), d.health.get("health_score")]
        ax.bar(["上一期 previous", "本期 current"], [0 if v is None or pd.isna(v) else float(v) for v in vals],
               color=["#a0aec0", "#2f855a"])
        ax.set_ylim(0, 100)
        ax.set_title("健康度指数 health index", fontsize=8)
        out["health"] = _svg(fig)
    fig, ax = plt.subplots(figsize=(6.4, 1.9))
    q0 = quarter_start(d.quarter)
    colours = ["#2b6cb0" if m >= q0 else "#a0aec0" for m in d.orders["month"]]
    ax.bar([m.strftime("%Y-%m") for m in d.orders["month"]], d.orders["amount"], color=colours)
    ax.set_title(f"每月订单金额 monthly order amount ({money_unit.bilingual(d.currency)})", fontsize=8)
    ax.tick_params(axis="x", labelrotation=45, labelsize=6)
    out["orders"] = _svg(fig)
    if len(d.forecast):
        fig, ax = plt.subplots(figsize=(6.4, 1.9))
        x = pd.to_datetime(d.forecast["week_start"])
        ax.plot(x, d.forecast["forecast"], color="#c05621", lw=1.2, label="预测 forecast")
        ax.plot(x, d.forecast["actual"], color="#2b6cb0", lw=1.2, marker="o", ms=2, label="实际 actual")
        ax.legend(fontsize=6, frameon=False)
        ax.set_title("周订货量：预测与实际 weekly units, forecast vs actual", fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=6)
        out["forecast"] = _svg(fig)
    return out


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = f"""
@page {{ size: A4; margin: 14mm 12mm; }}
body {{ font-family: {FONT_FAMILY}; font-size: 9.5pt; color: #1a202c; max-width: 190mm; margin: auto; }}
h1 {{ font-size: 15pt; margin: 0 0 2mm; }} h2 {{ font-size: 11pt; margin: 5mm 0 1.5mm; color: #2b6cb0; }}
.meta {{ color: #4a5568; font-size: 8.5pt; }} .note {{ color: #4a5568; font-size: 8pt; }}
table {{ border-collapse: collapse; width: 100%; font-size: 8.5pt; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: 1mm 1.5mm; text-align: left; }}
svg {{ max-width: 100%; height: auto; }} section {{ page-break-inside: avoid; }}
"""


def render_html(d: ReportData, svgs: dict[str, str] | None = None, created_at: datetime | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; nothing fetched from elsewhere)."""
    svgs = charts(d) if svgs is None else svgs
    e = html.escape
    created = (created_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    meta = " · ".join(x for x in [
        f"客户 customer {e(d.customer_id)}", f"客户经理 account manager {e(d.account_manager_id or '—')}",
        f"区域 region {e(d.region or '—')}", f"客户成功小组 CSG {e(d.csg_id or '—')}",
        f"合作起始 engagement began {d.engagement_month.strftime('%Y-%m') if d.engagement_month else '—'}",
        f"币种 currency {e(d.currency)}"] if x)
    kpi_rows = [[str(r.kpi_name), str(r.kpi_unit), pd.Timestamp(r.baseline_month).strftime("%Y-%m")
                 if pd.notna(r.baseline_month) else "—", fmt_value(r.baseline_value), fmt_value(r.quarter_value),
                 fmt_value(r.change), fmt_pct(r.change_pct)] for r in d.kpis.itertuples()]
    parts = [f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
             f"<title>季度价值报告 {e(d.legal_name)} {e(d.quarter)}</title><style>{CSS}</style></head><body>",
             f"<h1>季度价值报告 Quarterly value report · {e(d.quarter)}</h1>",
             f"<p><strong>{e(d.legal_name)}</strong></p><p class='meta'>{meta}</p>",
             "<section><h2>成效追踪 KPI change since the engagement began</h2>"]
    if kpi_rows:
        parts.append(_table(["指标 KPI", "单位 unit", "基期 baseline month", "基期值 baseline", "本季 quarter",
                             "变化 change", "变化率 change %"], kpi_rows))
    else:
        parts.append(f"<p class='note'>本季无KPI数据 no KPI values for {e(d.quarter)} in marts.value_realization.</p>")
    parts.append(svgs.get("kpi", "") + "<p class='note'>虚线 dashed = baseline; 竖线 vertical = engagement began.</p>"
                 "</section>")
    parts.append("<section><h2>健康度趋势 Health trend</h2>")
    if d.health:
        hh = d.health
        parts.append(_table(["本期 current", "颜色 colour", "上一期 previous", "变化 change", "趋势 trend"], [[
            fmt_value(hh.get("health_score"), 1), str(hh.get("health_colour") or "—"),
            fmt_value(hh.get("previous_health_score"), 1), fmt_value(hh.get("health_trend"), 1),
            str(hh.get("trend_direction") or "—")]]))
        parts.append(svgs.get("health", "") + "<p class='note'>健康度按最新数据计算 health index as of the latest data "
                     "(marts.customer_health).</p>")
    else:
        parts.append("<p class='note'>无健康度数据 no health index for this customer.</p>")
    parts.append("</section>")
    q0 = quarter_start(d.quarter)
    in_q = d.orders[[m >= q0 for m in d.orders["month"]]]
    before = d.orders[[m < q0 for m in d.orders["month"]]].tail(3)
    parts.append("<section><h2>订单 Orders</h2>" + _table(
        ["期间 period", f"金额 amount ({money_unit.bilingual(d.currency)})", "数量 units"],
        [[f"本季 {d.quarter}", fmt_value(in_q["amount"].sum()), f"{int(in_q['units'].sum())}"],
         ["上一季 previous quarter", fmt_value(before["amount"].sum()), f"{int(before['units'].sum())}"]])
        + svgs.get("orders", "") + "</section>")
    parts.append("<section><h2>预测与实际 Forecast vs actual</h2>")
    if len(d.forecast):
        scored = d.forecast.dropna(subset=["actual"])
        fc_total, act_total = float(scored["forecast"].sum()), float(scored["actual"].sum())
        wape = (scored["forecast"] - scored["actual"]).abs().sum() / act_total if act_total else float("nan")
        parts.append(_table(["周数 weeks with actuals", "预测 forecast units", "实际 actual units", "WAPE"],
                            [[str(len(scored)), fmt_value(fc_total, 1), fmt_value(act_total, 1), fmt_value(wape)]]))
        parts.append(svgs.get("forecast", "") + "<p class='note'>自本季首周起至其后13周；每周取该周之前最近一次预测，"
                     "按客户近13周订货占比分摊 weeks from the quarter's first to 13 weeks after it, each from the "
                     "latest forecast made before it, split to the customer by its 13-week order share; weeks "
                     "without actuals yet are forecast only.</p>")
    else:
        parts.append(f"<p class='note'>自{e(d.quarter)}起各周之前没有预测 no forecast was made before the weeks from "
                     f"{e(d.quarter)} on.</p>")
    parts.append(f"</section><p class='note'>生成于 created {created} · Lodestar</p></body></html>")
    return "".join(parts)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_report(d: ReportData, out_dir: Path, created_at: datetime | None = None) -> tuple[Path, Path]:
    """Write ``<customer_id>.html`` and ``<customer_id>.pdf`` (the same page) into ``out_dir``."""
    from weasyprint import HTML

    out_dir.mkdir(parents=True, exist_ok=True)
    page = render_html(d, created_at=created_at)
    html_path, pdf_path = out_dir / f"{d.customer_id}.html", out_dir / f"{d.customer_id}.pdf"
    _atomic_write(html_path, page.encode("utf-8"))
    _atomic_write(pdf_path, HTML(string=page, base_url=str(out_dir)).write_pdf())
    return pdf_path, html_path


def write_value_reports(wh: Warehouse, quarter: str, root: Path,
                        customers: list[str] | None = None) -> pd.DataFrame:
    """Write every key customer's report for ``quarter`` under ``root/<quarter>/`` and replace the quarter's rows
    of raw.value_reports with them (one transaction; a re-run adds no rows). Returns the rows written."""
    quarter_start(quarter)  # validates the label
    ids = key_customers(wh) if customers is None else customers
    out_dir = root / quarter
    created = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    rows = []
    for cid in ids:
        pdf, page = write_report(load_report_data(wh, cid, quarter), out_dir, created_at=created)
        rows.append({"customer_id": cid, "quarter": quarter, "pdf_path": str(pdf), "html_path": str(page),
                     "created_at": created})
    df = pd.DataFrame(rows, columns=["customer_id", "quarter", "pdf_path", "html_path", "created_at"])
    df = df.astype({"customer_id": str, "quarter": str, "pdf_path": str, "html_path": str})
    df["created_at"] = pd.to_datetime(df["created_at"])
    wh.replace_rows(*REPORTS_TABLE, df, "quarter = ?", [quarter])
    # A customer that is no longer key keeps no stale report of this quarter on disk.
    keep = {f"{cid}.{ext}" for cid in ids for ext in ("pdf", "html")}
    if out_dir.exists():
        for f in out_dir.iterdir():
            if f.suffix in (".pdf", ".html") and f.name not in keep:
                f.unlink()
    return df


def default_reports_root() -> Path:
    """``<LODESTAR_HOME>/reports/value``: one folder per quarter."""
    from lodestar.settings import get_settings

    return get_settings().home / "reports" / "value"
