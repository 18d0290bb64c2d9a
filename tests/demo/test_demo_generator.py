"""Determinism, scaling and realism of the generated demo company."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from lodestar.demo.common import CNY, week_start
from lodestar.demo.generator import generate
from lodestar.demo.writers import sha256_file

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_same_seed_gives_byte_identical_files(demo_small: tuple[Path, dict], tmp_path: Path) -> None:
    out_a, manifest_a = demo_small
    manifest_b = generate(tmp_path / "b", scale=0.1)
    files_a = {f["path"]: f["sha256"] for f in manifest_a["files"]}
    files_b = {f["path"]: f["sha256"] for f in manifest_b["files"]}
    assert files_a == files_b
    assert len(files_a) > 100
    # The manifest tells the truth about what is on disk, and manifest.json itself is identical too.
    for rel, digest in list(files_a.items())[::7]:
        assert sha256_file(out_a / rel) == digest
    assert (out_a / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()


def test_other_seed_and_scale_change_the_data(demo_small: tuple[Path, dict], tmp_path: Path) -> None:
    _, small = demo_small
    from lodestar.demo.master import build_master

    bigger = build_master(0.6, 20261127)
    assert len(bigger.customers) > small["counts"]["customers"]
    assert len(bigger.account_managers) > small["counts"]["account_managers"]
    assert len(bigger.stores) > small["counts"]["stores"]
    other = build_master(0.1, 7)
    assert list(other.customers.legal_name) != list(build_master(0.1, 20261127).customers.legal_name)


def test_manifest_counts_and_bad_row_rates(demo_small: tuple[Path, dict]) -> None:
    out, m = demo_small
    assert m["seed"] == 20261127 and m["scale"] == 0.1
    assert m["counts"]["order_lines"] > 10_000
    assert m["weeks"] == 203  # 2023-01-02 .. the week before 2026-11-23
    bad = pd.read_csv(out / "truth" / "bad_rows.csv")
    rows = {f["path"]: f["rows"] for f in m["files"] if f["rows"] is not None}
    # Per file the injected rate stays near 1.5% and under the contracts' 5% reject threshold.
    for file, n in bad[bad.row > 0].groupby("file").size().items():
        assert 0 < n / rows[file] <= 0.05, (file, n, rows[file])
    assert 0.008 < len(bad[bad.row > 0]) / sum(rows[f] for f in rows if f.startswith("drops/")) < 0.03
    assert set(bad.kind) >= {"truncated", "bad_encoding", "missing_required", "bad_type", "out_of_range",
                             "bad_value", "unknown_reference", "duplicate_key", "unreadable_file"}


def _orders(out: Path) -> pd.DataFrame:
    frames = []
    for p in sorted((out / "drops" / "erp").glob("orders_*.csv")):
        frames.append(pd.read_csv(p, dtype=str, on_bad_lines="skip", encoding_errors="replace"))
    df = pd.concat(frames)
    df["quantity"] = pd.to_numeric(df.quantity, errors="coerce")
    df["order_date"] = pd.to_datetime(df.order_date, errors="coerce", format="%Y-%m-%d")
    return df[(df.quantity >= 0) & df.order_date.notna()]


def test_chinese_names_channels_and_regions(demo_small: tuple[Path, dict]) -> None:
    out, _ = demo_small
    cust = pd.read_csv(out / "drops" / "erp" / "customers.csv", encoding="gb18030", dtype=str)
    assert cust.legal_name.str.contains(HAN).mean() > 0.98
    assert cust.legal_name.str.endswith("公司").mean() > 0.95
    assert (cust.legal_name.str.contains("股份有限公司")).any()
    assert cust.credit_code.isna().any() and cust.credit_code.notna().mean() > 0.8
    accounts = pd.read_json(out / "drops" / "crm" / "accounts.jsonl", lines=True, dtype=str, encoding_errors="replace")
    joined = accounts.merge(cust, left_on="erp_customer_id", right_on="customer_id")
    # CRM names are written differently from the ERP legal names for most customers.
    assert (joined.account_name != joined.legal_name).mean() > 0.6
    orders = _orders(out)
    assert set(orders.channel.dropna()) >= {"direct", "distributor", "ecommerce", "retail", "tender"}
    assert set(cust.region.dropna()) >= {"华东", "华南", "华北", "华中", "西南"}


def test_seasonality_double11_up_cny_down(demo_small: tuple[Path, dict]) -> None:
    out, _ = demo_small
    o = _orders(out)
    o["week"] = o.order_date - pd.to_timedelta(o.order_date.dt.weekday, unit="D")
    weekly = o.groupby("week").quantity.sum()
    for year in (2023, 2024, 2025):
        yw = weekly[weekly.index.year == year]
        median = yw.median()
        d11 = pd.Timestamp(week_start(date(year, 11, 11)))
        pre = pd.Timestamp(week_start(date(year, 11, 11) - timedelta(days=7)))
        assert weekly[d11] > median and weekly[pre] > median, year
        cny = pd.Timestamp(week_start(CNY[year]))
        assert weekly[cny] < 0.8 * median, year


def test_launch_case_and_events_recorded(demo_small: tuple[Path, dict]) -> None:
    out, _ = demo_small
    lc = json.loads((out / "truth" / "launch_case.json").read_text(encoding="utf-8"))
    assert lc["overstatement_pct"] == 34.6
    assert abs(lc["crm_units"] / lc["pos_units"] - 1.346) < 0.001
    ev = pd.read_csv(out / "truth" / "injected_events.csv")
    assert set(ev.event_type) == {"sku_discontinued", "production_line_upgrade"}
    assert (ev.expected_drop_pct >= 40).all()
    skus = pd.read_csv(out / "drops" / "erp" / "skus.csv", dtype=str, on_bad_lines="skip")
    disc = skus.set_index("sku_id").discontinue_date
    for sku in ev.sku_id.dropna():
        assert disc[sku] == "2026-12-07"
    notes = pd.read_json(out / "drops" / "crm" / "meeting_notes.jsonl", lines=True, dtype=str,
                         encoding_errors="replace")
    accounts = pd.read_json(out / "drops" / "crm" / "accounts.jsonl", lines=True, dtype=str,
                            encoding_errors="replace")
    identity = pd.read_csv(out / "truth" / "customer_identity.csv", dtype=str)
    for cust in ev[ev.event_type == "production_line_upgrade"].customer_id:
        acc = identity.set_index("customer_id").account_id[cust]
        texts = notes[(notes.account_id == acc) & (notes.note_date >= "2026-10-01")].text
        assert texts.str.contains("产线升级").any(), cust
    assert len(accounts) > 0
