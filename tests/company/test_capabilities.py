"""`lodestar capabilities`: which sources each mart / forecast / intel asset reads, off the asset graph."""

from __future__ import annotations

from lodestar import capabilities as cap
from lodestar.company import load_company
from lodestar.settings import PROJECT_ROOT


def test_needs_come_from_the_asset_graph_and_name_what_a_company_lacks(tmp_path):
    from orchestration.definitions import load

    owner = cap.raw_table_sources([(cap.CONTRACTS_DIR, cap.HTTP_DIR)])
    assert owner["erp_orders"] == "erp" and owner["ecommerce_orders"] == "ecommerce_orders"
    needs = {n.asset: set(n.sources) for n in cap.asset_needs(load(), owner)}
    assert {"erp", "crm", "pos", "distributor"} <= needs["marts/customer_360"]
    assert needs["marts/complaint_hotwords"] == {"complaints", "erp"}
    assert "erp" in needs["forecast/champion_model"]
    # Real-data contracts feed nothing downstream.
    assert not any({"walmart", "online_retail", "superstore"} & s for s in needs.values())

    superstore = load_company(PROJECT_ROOT / "companies" / "superstore" / "lodestar.yaml")
    assert cap.company_sources(superstore) == {"erp"}

    from orchestration.lib.dbt import lodestar_dbt_project, prepare_manifest

    declared = cap.declared_needs(prepare_manifest(lodestar_dbt_project))
    # What each mart cannot do without (dbt meta lodestar_needs; marts.mart_status reports it per company).
    assert declared["marts/launch_reconciliation"] == ["pos_scans", "erp_skus"]
    assert declared["marts/customer_360"] == ["erp_customers"]
    # The cockpit's pages and the value report (dbt exposures) by the sources upstream of what they read.
    pages = {n.asset: set(n.sources) for n in cap.page_needs(load(), owner, lodestar_dbt_project.manifest_path)}
    assert {"cockpit /lights", "cockpit /levers", "cockpit /reconciliation", "report quarterly_value_report"} <= set(pages)
    assert {"pos", "crm", "erp"} <= pages["cockpit /reconciliation"]
    assert pages["cockpit /csg"] == {"crm", "distributor", "erp", "pos"}  # no complaints, e-commerce or KPI feed
    table = cap.render_matrix(cap.asset_needs(load(), owner), ["complaints", "erp"], declared)
    assert "| `marts/complaint_hotwords` | ● | ● | `raw.complaints_complaints`, `raw.intel_complaint_hotwords` |" in table
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- capability-matrix:start -->\nold\n<!-- capability-matrix:end -->\nb\n", encoding="utf-8")
    assert cap.update_readme(readme, table) and not cap.update_readme(readme, table)
    assert "\nold\n" not in readme.read_text(encoding="utf-8")
