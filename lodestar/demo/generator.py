"""Entry point of the demo company generator: builds every system's data and writes drops, API data, truth.

Run ``python -m lodestar.demo.generator --out DIR --scale S --seed N``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd

from lodestar.demo.common import HISTORY_START, TODAY, WEEKS
from lodestar.demo.crm import build_crm
from lodestar.demo.documents import write_documents
from lodestar.demo.feeds_extra import build_complaints, build_customer_kpis, build_ecommerce_orders
from lodestar.demo.master import TIER_TERMS, build_master
from lodestar.demo.pos import build_pos
from lodestar.demo.sales import build_sales
from lodestar.demo.writers import (
    CONTRACTS_DIR,
    DropWriter,
    format_dates,
    sha256_file,
    write_json,
    write_jsonl,
)

DEFAULT_SEED = 20261127
GENERATED = ["drops", "api", "truth", "documents", "manifest.json"]
TRUTH_README = """# Ground truth of the demo company (never loaded as a feed)

- bad_rows.csv: every injected bad record: source, feed, file (relative to the demo dir), row (1-based data
  row as the connector counts it; 0 = whole file unreadable), kind (CONTRACTS.md reject words), column, detail.
  drops/erp/customers.csv is GB18030 on purpose: it must load, it is not a bad file.
- crm_pos_discrepancies.csv: store x SKU x week cells where CRM sell-through deviates from POS (kind:
  over_reporting, timing_shift (both weeks listed), missing_report, double_count). All other cells agree
  exactly in units; sales_amount is rounded to whole yuan in CRM.
- launch_case.json: the new SKU whose first four weeks of CRM sell-through overstate POS by 34.6%.
- injected_events.csv: customers whose demand drops >= 40% from 2026-12-07 (SKU discontinued in ERP, or a
  production-line upgrade announced in recent meeting notes).
- meeting_notes.csv: sentiment, competitor and production-line-upgrade mentions per CRM note.
- complaints.csv: the customer each complaint alias refers to, the competitor named, the sentiment.
- customer_identity.csv: the same customer's ERP legal name, CRM name, POS/distributor alias, CRM account.
- account_health.csv: the latent health that drove NPS, tickets and note sentiment; rising custom requests.
- weekly_units_by_channel.csv: shipped units per week x channel (sell-in actuals before bad rows).
- expected_demand.csv.gz: the demand model's noise-free expected shipped ERP units per account manager x SKU x
  channel x week, after that week's capacity cut and stockouts (weeks with a positive expectation; the rest
  are 0): the forecast oracle. The own platform stores' orders are not in it.
- documents.jsonl: per document the files, the exact text per page and the facts planted in it.
"""


def _ym(s: pd.Series) -> list[str]:
    return [x.replace("-", "") for x in format_dates(s, "%Y-%m-%d").str[:7]]


def _year(s: pd.Series) -> list[str]:
    return format_dates(s, "%Y-%m-%d").str[:4].tolist()


def generate(out_dir: Path, scale: float = 1.0, seed: int = DEFAULT_SEED, contracts_dir: Path = CONTRACTS_DIR) -> dict:
    """Write the demo company under out_dir; returns the manifest (also written to out_dir/manifest.json)."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    out_dir = Path(out_dir)
    for name in GENERATED:  # only what we generate, so a stale run never mixes in
        p = out_dir / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)

    m = build_master(scale, seed)
    sales = build_sales(m, seed)
    crm = build_crm(m, seed, scale)
    pos = build_pos(m, seed)
    w = DropWriter(out_dir, seed, contracts_dir)

    # ERP: the customer master comes out of the ERP in GB18030, as many Chinese ERPs export it.
    cust = m.customers.assign(payment_terms_days=m.customers.tier.map(TIER_TERMS))
    w.write("erp", "customers", cust, "customers.csv", encoding="gb18030")
    w.write("erp", "product_lines", m.product_lines, "product_lines.csv")
    w.write("erp", "skus", m.skus, "skus.csv")
    w.write("erp", "factories", m.factories, "factories.csv")
    w.write("erp", "materials", m.materials, "materials.csv")
    w.write("erp", "bom", m.bom, "bom.csv")
    w.write("erp", "material_prices", sales.material_prices, "material_prices.csv")
    w.write("erp", "capacity", sales.capacity, "capacity.csv")
    w.write("erp", "inventory", sales.inventory, "inventory_{key}.csv", _year(sales.inventory.snapshot_date))
    order_keys = _ym(sales.orders.order_date)
    w.write("erp", "orders", sales.orders, "orders_{key}.csv", order_keys, truncate_keys=[max(order_keys)])
    w.write("erp", "payments", sales.payments, "payments_{key}.csv", _year(sales.payments.invoice_date))
    w.write("erp", "promotions", sales.promotions, "promotions.csv")
    w.write("erp", "price_list", sales.price_list, "price_list.csv")

    # CRM exports JSON lines.
    t = crm.tables
    for feed in ["clusters", "account_managers", "accounts", "contacts", "opportunities", "visits",
                 "meeting_notes", "csg_groups", "csg_members", "csg_tasks", "nps", "tickets", "custom_requests"]:
        w.write("crm", feed, t[feed], f"{feed}.jsonl")
    w.write("crm", "intent_signals", t["intent_signals"], "intent_signals.jsonl", truncate_keys=[""])
    w.write("crm", "sell_through_reports", pos.sell_through, "sell_through_{key}.jsonl",
            _ym(pos.sell_through.week_start))

    # POS: store master and monthly scan exports; distributors send weekly Excel snapshots.
    w.write("pos", "stores", pos.stores, "stores.csv")
    scan_keys = _ym(pos.scans.scan_date)
    w.write("pos", "scans", pos.scans, "scans_{key}.csv", scan_keys, truncate_keys=[max(scan_keys)])
    dk = format_dates(pos.dist_inventory.snapshot_date, "%Y-%m-%d").str.replace("-", "").tolist()
    uniq = sorted(set(dk))
    w.write("distributor", "inventory", pos.dist_inventory, "inventory_{key}.xlsx", dk,
            unreadable_keys=[uniq[len(uniq) // 2]])

    complaints, complaint_truth = build_complaints(m, seed, scale)
    w.write("complaints", "complaints", complaints, "complaints_{key}.jsonl", _year(complaints.received_at))

    # HTTP-served data.
    w.write_api("ecommerce_orders", build_ecommerce_orders(m, seed, scale))
    csg = t["csg_groups"].merge(t["accounts"][["account_id", "customer_id"]], on="account_id")
    w.write_api("customer_kpis", build_customer_kpis(m, seed, csg))

    # Ground truth.
    truth = out_dir / "truth"
    w.write_truth()
    (truth / "README.md").write_text(TRUTH_README, encoding="utf-8")
    pos.discrepancies.to_csv(truth / "crm_pos_discrepancies.csv", index=False, lineterminator="\n")
    write_json(truth / "launch_case.json", pos.launch_case)
    m.events.to_csv(truth / "injected_events.csv", index=False, lineterminator="\n")
    crm.note_truth.to_csv(truth / "meeting_notes.csv", index=False, lineterminator="\n")
    complaint_truth.to_csv(truth / "complaints.csv", index=False, lineterminator="\n")
    crm.account_health.to_csv(truth / "account_health.csv", index=False, lineterminator="\n")
    acc = t["accounts"][["customer_id", "account_id", "account_name", "erp_customer_id"]].dropna(subset=["customer_id"])
    identity = m.customers[["customer_id", "legal_name", "crm_name", "alias", "credit_code"]].merge(
        acc.rename(columns={"account_name": "crm_account_name", "erp_customer_id": "crm_erp_link"}), on="customer_id")
    identity.to_csv(truth / "customer_identity.csv", index=False, lineterminator="\n")
    wc = sales.weekly_channel.pivot_table(index="week_start", columns="channel", values="quantity", fill_value=0)
    wc.reset_index().to_csv(truth / "weekly_units_by_channel.csv", index=False, lineterminator="\n")
    sales.expected_demand.to_csv(truth / "expected_demand.csv.gz", index=False, lineterminator="\n",
                                 compression={"method": "gzip", "mtime": 0})
    docs = write_documents(m, out_dir, seed)
    write_jsonl(truth / "documents.jsonl", docs)

    bad = pd.DataFrame(w.bad_rows)
    files = []
    for p in sorted(x for x in out_dir.rglob("*") if x.is_file() and x.name != "manifest.json"):
        rel = p.relative_to(out_dir).as_posix()
        if not any(rel == g or rel.startswith(g + "/") for g in GENERATED):
            continue
        files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256_file(p),
                      "rows": w.rows.get(str(p))})
    manifest = {
        "generator": "lodestar.demo", "seed": seed, "scale": scale, "today": str(TODAY),
        "history_start": str(HISTORY_START), "weeks": len(WEEKS),
        "counts": {"customers": len(m.customers), "account_managers": len(m.account_managers),
                   "clusters": len(m.clusters), "skus": len(m.skus), "stores": len(m.stores),
                   "distributors": int((m.customers.channel == "distributor").sum()),
                   "order_lines": len(sales.orders), "pos_scans": len(pos.scans),
                   "sell_through_reports": len(pos.sell_through), "discrepancies": len(pos.discrepancies),
                   "documents": len(docs)},
        "bad_rows": {f"{s}.{f}": int(n) for (s, f), n in bad.groupby(["source", "feed"]).size().items()},
        "files": files,
    }
    write_json(out_dir / "manifest.json", manifest)
    # After the manifest, which lists the generated data only: the demo as a configured company.
    from lodestar.company import COMPANY_FILE_NAME, demo_company_yaml

    (out_dir / COMPANY_FILE_NAME).write_text(
        demo_company_yaml(contracts_dir, contracts_dir.parent / "http"), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate the Lodestar demo company.")
    ap.add_argument("--out", type=Path, required=True, help="output directory (e.g. $LODESTAR_DEMO_DIR)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    manifest = generate(args.out, args.scale, args.seed)
    total = sum(f["rows"] or 0 for f in manifest["files"])
    print(f"wrote {len(manifest['files'])} files ({total} data rows) to {args.out}")


if __name__ == "__main__":
    main()
