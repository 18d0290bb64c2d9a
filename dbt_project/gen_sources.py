"""Regenerates models/staging/_sources.yml (dbt source `raw`) from the connector contracts.

Run after a contract changes: `.venv/bin/python dbt_project/gen_sources.py`. Tables that other
libraries land later (forecasts, NLP outputs) are declared in FUTURE_TABLES below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from nlp.intel import TYPES as INTEL_TYPES  # noqa: E402  (the raw.intel_* schema lives in nlp, once)

# nlp.intel's type words in the contract vocabulary of the source declarations
INTEL_TYPE_NAMES = {"string": "string", "int": "integer", "float": "decimal", "ts": "timestamp", "date": "date"}
OUT = Path(__file__).resolve().parent / "models" / "staging" / "_sources.yml"
LANDING = {
    "_source_file": ("string", "File (or API page) the row came from."),
    "_source_row": ("integer", "1-based data row in that file."),
    "_batch_id": ("string", "Connector batch that landed the row."),
    "_loaded_at": ("timestamp", "When the row was landed (UTC)."),
}
REJECT_COLUMNS = {
    "feed": ("string", "Feed the rejected row belongs to."),
    "_source_file": ("string", "File the row came from."),
    "_source_row": ("integer", "1-based data row (0 = the whole file was unreadable)."),
    "reason": ("string", "`<column>: <problem> (<value>)`, several joined by `; `."),
    "payload": ("string", "The original row as JSON text."),
    "_batch_id": ("string", "Connector batch."),
    "_loaded_at": ("timestamp", "When the reject was recorded."),
}
# Landed later by ml/ and nlp/; declared so the models that read them compile while they are absent.
FUTURE_TABLES = {
    "forecast_predictions": ("Weekly forecasts at the forecast grain from the @champion model, written by ml.pipeline "
                             "(one set of rows per forecast origin week; absent until the first forecast).", {
        "run_id": ("string", "MLflow run that trained the model that produced the forecast."),
        "model_name": ("string", "Registered model name."),
        "model_version": ("string", "Registered model version, `<name>/<version>`."),
        "origin_week": ("date", "Last week of actuals the forecast used (the Dagster partition key)."),
        "account_manager_id": ("string", "Account manager."),
        "sku_id": ("string", "SKU."),
        "channel": ("string", "Channel."),
        "product_line": ("string", "Product line of the SKU."),
        "cluster_id": ("string", "Cluster of the account manager."),
        "region": ("string", "Region of the account manager."),
        "week_start": ("date", "Monday of the forecast week."),
        "h": ("integer", "Weeks ahead of the origin (1..horizon)."),
        "y_hat": ("decimal", "Forecast units (reconciled mean)."),
        "lo80": ("decimal", "Lower bound of the 80% interval."),
        "hi80": ("decimal", "Upper bound of the 80% interval."),
        "lo95": ("decimal", "Lower bound of the 95% interval."),
        "hi95": ("decimal", "Upper bound of the 95% interval."),
        "reconciliation": ("string", "Hierarchy reconciliation method of the model."),
        "run_rate": ("decimal", "The series' weekly run-rate at the origin (13-week mean, floored at half the 52-week "
                                "mean): what the drivers move the forecast away from."),
        "drivers": ("string", "What moves the forecast from the run-rate, JSON {driver: units}, largest first; "
                              "run_rate + the units = y_hat (LightGBM TreeSHAP by feature group, or the statistical "
                              "model's component, plus reconciliation). See ml/explain.py."),
        "top_drivers": ("string", "The three largest drivers, comma-separated."),
        "created_at": ("timestamp", "When the forecast was written."),
    }),
    "forecast_runs": ("One row per forecast model training run, written by ml.pipeline (absent until the first run).", {
        "run_id": ("string", "MLflow run id."),
        "model_name": ("string", "Registered model name."),
        "model_version": ("string", "Registered model version."),
        "model_family": ("string", "seasonal_naive, traditional, ets or lgbm."),
        "trained_at": ("timestamp", "When the run trained."),
        "history_last_week": ("date", "Last week of the training history."),
        "n_series": ("integer", "Grain series trained on."),
        "wape": ("decimal", "Backtest weighted absolute percentage error at the grain."),
        "reconciliation": ("string", "Hierarchy reconciliation method chosen."),
    }),
    "value_reports": ("Quarterly value reports written by lodestar.reports.value_report (Dagster asset "
                      "reports/value_reports, one partition per quarter): one row per key customer x quarter, the "
                      "rows of a quarter replaced when it is written again; absent until the first report.", {
        "customer_id": ("string", "ERP customer the report is for."),
        "quarter": ("string", "Quarter reported, e.g. 2026Q3."),
        "pdf_path": ("string", "Absolute path of the PDF, <LODESTAR_HOME>/reports/value/<quarter>/<customer_id>.pdf."),
        "html_path": ("string", "Absolute path of the HTML with the same content, beside the PDF."),
        "created_at": ("timestamp", "When the report was written (UTC)."),
    }),
    "forecast_scenarios": ("Named lever scenarios written by ml.scenario (the main job writes `default`; the "
                           "launchpad and `lodestar scenario --name` others): the latest base forecast re-computed "
                           "under the scenario's levers, one row per grain week.", {
        "scenario_name": ("string", "Scenario name (its rows are replaced when it is written again)."),
        "account_manager_id": ("string", "Account manager."),
        "sku_id": ("string", "SKU."),
        "channel": ("string", "Channel."),
        "region": ("string", "Region of the account manager."),
        "product_line": ("string", "Product line of the SKU."),
        "week_start": ("date", "Monday of the forecast week."),
        "y_base": ("decimal", "Base forecast units (the champion's forecast at default levers)."),
        "y_scenario": ("decimal", "Forecast units under the scenario's levers."),
        "delta": ("decimal", "y_scenario - y_base."),
        "levers_json": ("string", "All twelve lever values of the scenario, JSON."),
        "changed_levers": ("string", "Levers that differ from their default, `name=value` joined by commas."),
        "created_at": ("timestamp", "When the scenario was written."),
    }),
    "forecast_sandbox": ("Forecast sandbox (A/B) per month x sandbox customer x arm, written by ml.sandbox: errors "
                         "once actuals are in and the lever value recalibrated from them.", {
        "month": ("date", "First day of the month (a week belongs to the month its Monday falls in)."),
        "customer_id": ("string", "Sandbox customer (top by strategic value in customer_matrix)."),
        "arm": ("string", "traditional or model."),
        "series_count": ("integer", "The customer's SKU series in this arm."),
        "forecast_total": ("decimal", "Forecast units of the arm's series in the month."),
        "actual_total": ("decimal", "Ordered units of those series in the month (null until actuals are in)."),
        "wape": ("decimal", "sum |forecast - actual| / sum |actual| (null until actuals are in or if nothing sold)."),
        "bias": ("decimal", "sum (forecast - actual) / sum |actual|."),
        "calibrated_lever": ("string", "Lever recalibrated from the model arm's errors."),
        "lever_value_before": ("decimal", "Its value going into the month (carried from the previous month)."),
        "calibrated_value": ("decimal", "Its value after the month's recalibration."),
        "calibration_error_before": ("decimal", "Model-arm MSE at the value before."),
        "calibration_error_after": ("decimal", "Model-arm MSE at the calibrated value."),
        "n_obs": ("integer", "Series the calibration used (0 = no actuals or no driver)."),
        "origin_week": ("date", "Origin week of the forecast the model arm used."),
        "status": ("string", "scored or actuals_not_yet_in."),
        "created_at": ("timestamp", "When the sandbox was written."),
    }),
    "alerts": ("Customer drop alerts written by ml.alerts: next-month forecast >= 40% below the 13-week run-rate, "
               "with the main driver, three substitute customers and a solution pack.", {
        "customer_id": ("string", "ERP customer whose demand drops."),
        "as_of": ("date", "Last order date the alert was computed from."),
        "run_rate_month": ("decimal", "13-week order run-rate scaled to the next month, units."),
        "forecast_next_month": ("decimal", "Next month's forecast units for the customer."),
        "drop_pct": ("decimal", "Drop of the forecast against the run-rate, percent."),
        "main_driver": ("string", "model trend / discontinued SKU in ERP / production-line upgrade mentioned in CRM "
                                  "notes."),
        "reason": ("string", "The main driver with its detail (e.g. the discontinued SKU)."),
        "contributions": ("string", "Log contribution of every driver to the drop, JSON."),
        "substitutes": ("string", "Up to three substitute customer ids, most similar first, comma-separated."),
        "solution_pack": ("string", "SKUs and quantities to offer the substitutes, JSON list."),
        "created_at": ("timestamp", "When the alerts were computed."),
    }),
    "replenishment": ("Distributor replenishment suggestions written by ml.alerts from the latest distributor stock "
                      "snapshot under the `default` scenario (one row per distributor x SKU).", {
        "holder_id": ("string", "Distributor (ERP customer id) holding the stock."),
        "sku_id": ("string", "SKU."),
        "on_hand": ("decimal", "Units on hand at the snapshot."),
        "in_transit": ("decimal", "Units in transit at the snapshot."),
        "weekly_demand": ("decimal", "Expected units per week: 13-week order rate x the scenario's change."),
        "weekly_sd": ("decimal", "Standard deviation of weekly orders over 13 weeks."),
        "account_manager_id": ("string", "Account manager of the distributor's orders of the SKU."),
        "lead_time_weeks": ("decimal", "SKU lead time, weeks."),
        "safety_stock": ("decimal", "coef x 1.65 x weekly_sd x sqrt(lead_time_weeks), units."),
        "demand_over_lead_time": ("decimal", "weekly_demand x lead_time_weeks, units."),
        "position": ("decimal", "on_hand + in_transit."),
        "cover_weeks": ("decimal", "position / weekly_demand (infinite when there is no demand)."),
        "flag": ("boolean", "position < demand over lead time + safety stock."),
        "suggested_qty": ("integer", "ceil(demand over lead time + safety stock - position) when flagged, else 0."),
        "snapshot_date": ("date", "Distributor stock snapshot the suggestion is for."),
        "scenario_name": ("string", "Scenario applied to the demand (null = run-rate only)."),
        "created_at": ("timestamp", "When the suggestions were computed."),
    }),
    "intel_note_sentiment": ("Meeting-note sentiment scored by nlp/ (absent until the NLP asset runs).", {
        "note_id": ("crm.meeting_notes note id."),
        "sentiment": ("positive / neutral / negative."),
        "score": ("Sentiment score in [-1, 1]."),
        "account_id": ("CRM account of the note."),
        "note_date": ("Date of the note."),
    }),
    "intel_documents": ("Inbox documents accepted by nlp/ (one row per sha256; absent until the first extraction).", {
        "doc_id": ("sha256 of the file: the document id."),
        "file_name": ("File name in the inbox."),
        "source_path": ("Path the file was read from."),
        "format": ("pdf / png / jpeg / tiff."),
        "pages": ("Pages processed."),
        "pages_total": ("Pages in the file (more than pages when the page cap truncated it)."),
        "page_paths": ("Per page: text (PDF text layer) or ocr."),
        "language": ("Language of the document text (zh: only Chinese documents are accepted)."),
        "ocr_languages": ("Tesseract languages the OCR read pages with, comma-separated (null: text layer only)."),
        "mean_confidence": ("Mean OCR confidence (100 for text-layer pages)."),
        "status": ("ok / truncated."),
        "note": ("What processing noted about the document (e.g. the page cap), null when nothing."),
        "processed_at": ("When the document was processed."),
    }),
    "intel_pages": ("Text per document page (absent until the first extraction).", {
        "doc_id": ("Document (sha256)."),
        "page": ("1-based page."),
        "path": ("text or ocr."),
        "language": ("Language of the page text (the OCR re-reads a non-Chinese page with eng)."),
        "confidence": ("OCR confidence 0-100."),
        "rotation": ("Degrees the page was rotated before OCR (orientation detection)."),
        "skew": ("Degrees of skew corrected before OCR."),
        "chars": ("Characters of text."),
        "text": ("The page text."),
    }),
    "intel_facts": ("Facts extracted from inbox documents (absent until the first extraction).", {
        "doc_id": ("Document (sha256)."),
        "page": ("1-based page."),
        "start": ("Start offset of the span in the page text."),
        "end": ("End offset of the span."),
        "sentence": ("The sentence the fact is in."),
        "fact_type": ("policy_measure / financial_risk / capacity_change / esg_carbon / demand_signal / mention."),
        "fact_subtype": ("e.g. subsidy, standard, restriction."),
        "entity_label": ("Entity label of the span (company, MONEY, DEADLINE, ...)."),
        "value": ("Normalised value of the span."),
        "unit": ("Unit of a number (万元, %, 吨, ...)."),
        "confidence": ("Confidence of the fact type in [0, 1]."),
        "linked_customer_id": ("ERP customer the organisation span links to."),
        "link_score": ("Name match score 0-100."),
    }),
    "intel_rejects": ("Inbox files nlp/ could not process, with the reason (absent until the first extraction).", {
        "feed": ("Always documents."),
        "kind": ("Reject kind (corrupt, unsupported_format, not_chinese, unsafe_path, ...)."),
        "file_name": ("File name."),
        "source_path": ("Path in the inbox."),
        "doc_id": ("sha256 when the file could be read."),
        "reason": ("Why the file was rejected."),
        "payload": ("The rejected file's inbox path (the whole file is the rejected unit)."),
        "_source_file": ("File name of the rejected file."),
        "_source_row": ("Always 0: the whole file was rejected."),
        "rejected_at": ("When."),
    }),
    "intel_complaint_hotwords": ("Complaint hot words per competitor per week, from nlp/.", {
        "competitor": ("Competitor named in the complaints ('none' = no competitor named)."),
        "week_start": ("Monday of the week."),
        "term": ("Term (jieba token)."),
        "term_count": ("Occurrences in the week's complaints."),
        "prev_count": ("Occurrences the week before."),
        "wow_change": ("term_count - prev_count."),
        "heat": ("Summed TF-IDF weight in the week."),
    }),
    "intel_complaint_heat": ("Weekly complaint heat per customer, from nlp/.", {
        "customer_id": ("ERP customer the complaint alias links to."),
        "week_start": ("Monday of the week."),
        "complaints": ("Complaints in the week."),
        "negative_complaints": ("Of which negative in tone."),
        "competitor_mentions": ("Of which naming a competitor."),
        "heat": ("complaints + negative_complaints + competitor_mentions."),
    }),
    "intel_influence_edges": ("Stakeholder ties per CRM account, from nlp/.", {
        "account_id": ("CRM account."),
        "source_contact_id": ("Contact (the smaller id)."),
        "target_contact_id": ("Contact (the larger id)."),
        "weight": ("co_visits + 0.5 x co_mentions."),
        "co_visits": ("Visits both attended."),
        "co_mentions": ("Meeting notes naming both."),
    }),
    "intel_influence_nodes": ("Stakeholder centrality within the account, from nlp/.", {
        "account_id": ("CRM account."),
        "contact_id": ("Contact."),
        "degree": ("Number of ties."),
        "weighted_degree": ("Sum of tie weights."),
        "pagerank": ("PageRank within the account graph."),
        "betweenness": ("Betweenness centrality within the account graph."),
    }),
}


def _intel_columns(table: str, descriptions: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A raw.intel_* table's columns: names and types from nlp.intel.TYPES (the one schema nlp lands them with),
    descriptions from FUTURE_TABLES; a column described here but not landed, or landed but not described, fails."""
    # `_loaded_at` is bookkeeping the staging models do not read; declared only where a table documents it
    types = {c: t for c, t in INTEL_TYPES[table].items() if c != "_loaded_at" or c in descriptions}
    if set(types) != set(descriptions):
        raise SystemExit(f"{table}: nlp.intel.TYPES has {sorted(set(types) - set(descriptions))} undescribed here, "
                         f"FUTURE_TABLES describes {sorted(set(descriptions) - set(types))} nlp does not land")
    return {c: (INTEL_TYPE_NAMES[types[c]], d) for c, d in descriptions.items()}


def _col(name: str, t: str, desc: str) -> dict:
    return {"name": name, "description": desc, "data_type": t}


def main() -> None:
    tables = []
    rejects = {}
    for path in sorted((ROOT / "connectors" / "contracts").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec.get("root") == "shared":
            continue  # public benchmark data sets, not the demo company's systems
        src = spec["source"]
        for feed, f in spec["feeds"].items():
            cols = [_col(c, s.get("type", "string"), s.get("description", c)) for c, s in f["columns"].items()]
            cols += [_col(c, t, d) for c, (t, d) in LANDING.items()]
            tables.append({"name": f"{src}_{feed}", "description": f.get("description", ""), "columns": cols})
        rejects[f"{src}_rejects"] = f"Rows of {src} feeds rejected by the connector."
    for path in sorted((ROOT / "connectors" / "http").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        cols = [_col(c, s.get("type", "string"), s.get("description", c)) for c, s in spec["columns"].items()]
        cols += [_col(c, t, d) for c, (t, d) in LANDING.items()]
        tables.append({"name": spec["name"], "description": spec.get("description", ""), "columns": cols})
        rejects[f"{spec['source']}_rejects"] = f"Records of the {spec['source']} API rejected by the connector."
    for name, desc in sorted(rejects.items()):
        tables.append({"name": name, "description": desc,
                       "columns": [_col(c, t, d) for c, (t, d) in REJECT_COLUMNS.items()]})
    for name, (desc, cols) in FUTURE_TABLES.items():
        typed = _intel_columns(name, cols) if name in INTEL_TYPES else cols
        tables.append({"name": name, "description": desc, "columns": [_col(c, t, d) for c, (t, d) in typed.items()]})
    doc = {"version": 2, "sources": [{
        "name": "raw", "schema": "raw",
        "description": "Tables landed by connectors/ (one per feed, see connectors/contracts) and by ml/ and nlp/.",
        "tables": tables}]}
    header = "# Generated by dbt_project/gen_sources.py from connectors/contracts and connectors/http: do not edit.\n"
    OUT.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    print(f"wrote {OUT} ({len(tables)} tables)")


# --- staging models -------------------------------------------------------------------------------
STAGING = Path(__file__).resolve().parent / "models" / "staging"
# Column renames so that marts never see an ambiguous `name`, `status` or `value`.
RENAMES = {
    "crm_account_managers": {"name": "account_manager_name", "email": "account_manager_email"},
    "crm_contacts": {"name": "contact_name", "email": "contact_email"},
    "crm_clusters": {"description": "cluster_description"},
    "erp_product_lines": {"description": "product_line_description"},
    "crm_csg_members": {"function": "member_function", "role": "member_role"},
    "crm_nps": {"score": "nps_score", "comment": "nps_comment"},
    "crm_meeting_notes": {"text": "note_text"},
    "complaints_complaints": {"text": "complaint_text", "channel": "complaint_channel"},
    "customer_kpis": {"value": "kpi_value", "month": "kpi_month", "unit": "kpi_unit"},
    "pos_scans": {"units": "units_sold"},
    "crm_tickets": {"status": "ticket_status"},
    "erp_orders": {"status": "order_status", "amount": "order_amount"},
    "erp_payments": {"status": "payment_status", "amount": "invoice_amount"},
    "crm_custom_requests": {"status": "request_status"},
    "crm_csg_tasks": {"status": "task_status"},
    "crm_opportunities": {"amount": "opportunity_amount"},
    "ecommerce_orders": {"status": "order_status"},
}
TYPE_MACRO = {"string": "dbt.type_string()", "integer": "dbt.type_bigint()", "decimal": None,
              "timestamp": "dbt.type_timestamp()", "boolean": "dbt.type_boolean()"}


def _cast(col: str, t: str) -> str:
    if t == "date":
        return f"cast({col} as date)"
    if t == "decimal":  # dbt.type_float() is a 4-byte FLOAT on DuckDB: amounts need an 8-byte float everywhere
        return f"cast({col} as {{{{ type_double() }}}})"
    return f"cast({col} as {{{{ {TYPE_MACRO[t]} }}}})"


def _contract_args(table: str, column: str, renames: dict[str, str]) -> dict:
    """Arguments of a contract-derived test: the raw table and, when staging renames it, the raw column."""
    args = {"table": table}
    if renames.get(column, column) != column:
        args["raw_column"] = column
    return args


def _dedup_call(table: str, key: list[str], rejects: str, feed: str) -> str:
    """The staging model's dedup_raw call, its arguments on their own lines when one line would pass 120."""
    args = [f"'{table}'", repr(key), f"rejects_table='{rejects}'", f"feed='{feed}'"]
    one = f"{{{{ dedup_raw({', '.join(args)}) }}}}"
    if len(one) + 4 <= 120:
        return one
    return "{{ dedup_raw(\n        " + ",\n        ".join(args) + "\n    ) }}"


def write_staging() -> None:
    models = []
    feeds = []
    for path in sorted((ROOT / "connectors" / "contracts").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec.get("root") == "shared":
            continue
        for feed, f in spec["feeds"].items():
            feeds.append((spec["source"], feed, f"{spec['source']}_{feed}", f"{spec['source']}_rejects", f))
    for path in sorted((ROOT / "connectors" / "http").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        entity = spec["name"].removeprefix(spec["source"] + "_")
        feeds.append((spec["source"], entity, spec["name"], f"{spec['source']}_rejects", spec))
    for source, entity, table, rejects, f in feeds:
        model = f"stg_{source}__{entity}"
        ren = RENAMES.get(table, {})
        lines = []
        for c, s in f["columns"].items():
            lines.append(f"    {_cast(c, s.get('type', 'string'))} as {ren.get(c, c)},")
        lines += ["    _source_file,", "    _source_row,", "    _loaded_at"]
        feed_name = f.get("name", entity) if "feeds" not in f else entity
        feed_name = table if "endpoint" in f else entity
        sql = (f"-- Generated by dbt_project/gen_sources.py: typed, renamed, one row per {', '.join(f['primary_key'])}\n"
               f"-- (latest load wins), rejected rows excluded.\n"
               f"with deduplicated as (\n    {_dedup_call(table, f['primary_key'], rejects, feed_name)}\n"
               f")\n\nselect\n" + "\n".join(lines) + "\nfrom deduplicated\n")
        (STAGING / f"{model}.sql").write_text(sql, encoding="utf-8")
        cols = []
        for c, s in f["columns"].items():
            col = {"name": ren.get(c, c), "description": s.get("description", c)}
            tests = []
            if c in f["primary_key"] and len(f["primary_key"]) == 1:
                tests = ["unique", "not_null"]
            elif s.get("required"):
                # the configured company's contract decides (macros/contract_tests.sql), the demo's by default
                tests = [{"contract_not_null": {"arguments": _contract_args(table, c, ren)}}]
            if "values" in s:
                tests.append({"contract_accepted_values": {"arguments": {**_contract_args(table, c, ren),
                                                                         "values": s["values"]}}})
            if tests:
                col["data_tests"] = tests
            cols.append(col)
        cols += [{"name": c, "description": d} for c, (_, d) in LANDING.items() if c != "_batch_id"]
        m = {"name": model, "description": f"{f.get('description', table)} Staged from raw.{table}.", "columns": cols}
        if len(f["primary_key"]) > 1:
            m["data_tests"] = [{"unique_key": {"arguments": {"columns": [ren.get(c, c) for c in f["primary_key"]]}}}]
        models.append(m)
    # One YAML beside each model (dbt house style), like the hand-written staging models.
    header = "# Generated by dbt_project/gen_sources.py from the connector contracts: do not edit.\n"
    for m in models:
        (STAGING / f"{m['name']}.yml").write_text(
            header + yaml.safe_dump({"version": 2, "models": [m]}, allow_unicode=True, sort_keys=False, width=120),
            encoding="utf-8")
    print(f"wrote {len(models)} staging models")


if __name__ == "__main__":
    main()
    write_staging()
