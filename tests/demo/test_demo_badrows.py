"""Every recorded bad row is where the truth says and bad in that way; every other row is clean."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from demo_validate import (
    CONTRACTS,
    DEMO_SOURCES,
    contract,
    feed_files,
    problems,
    reference_sets,
    validate_feed,
)


@pytest.fixture(scope="module")
def truth(demo_small: tuple[Path, dict]) -> pd.DataFrame:
    return pd.read_csv(demo_small[0] / "truth" / "bad_rows.csv", dtype={"row": int})


@pytest.mark.parametrize("source", DEMO_SOURCES)
def test_truth_matches_an_independent_reading(source: str, demo_small: tuple[Path, dict], truth: pd.DataFrame) -> None:
    demo = demo_small[0]
    refs = reference_sets(demo, source)
    for feed in contract(source)["feeds"]:
        assert feed_files(demo, source, feed), f"{source}.{feed}: no file written"
        found = validate_feed(demo, source, feed, refs)
        t = truth[(truth.source == source) & (truth.feed == feed)]
        expected = {(r.file, r.row): {r.kind} for r in t.itertuples()}
        missing = {k: v for k, v in expected.items() if found.get(k) != v}
        extra = {k: v for k, v in found.items() if k not in expected}
        assert not missing, f"{source}.{feed}: truth rows not bad that way: {list(missing.items())[:5]} " \
                            f"(found {[found.get(k) for k in list(missing)[:5]]})"
        assert not extra, f"{source}.{feed}: bad rows missing from truth: {list(extra.items())[:5]}"


def test_gb18030_file_is_not_a_bad_file(demo_small: tuple[Path, dict], truth: pd.DataFrame) -> None:
    demo = demo_small[0]
    raw = (demo / "drops" / "erp" / "customers.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "有限公司" in raw.decode("gb18030")
    kinds = set(truth[truth.file == "drops/erp/customers.csv"].kind)
    assert not kinds & {"bad_encoding", "unreadable_file"}


def test_api_bad_records_are_recorded(demo_small: tuple[Path, dict], truth: pd.DataFrame) -> None:
    demo = demo_small[0]
    spec = yaml.safe_load((CONTRACTS.parent / "http" / "ecommerce_orders.yaml").read_text(encoding="utf-8"))
    skus = pd.read_csv(demo / "drops" / "erp" / "skus.csv", dtype=str, on_bad_lines="skip")
    ams = pd.read_json(demo / "drops" / "crm" / "account_managers.jsonl", lines=True, dtype=str)
    refs = {"erp.skus.sku_id": set(skus.sku_id), "crm.account_managers.account_manager_id": set(ams.account_manager_id)}
    lines = (demo / "api" / "ecommerce_orders.jsonl").read_text(encoding="utf-8").splitlines()
    found, seen = {}, set()
    for i, line in enumerate(lines, start=1):
        rec = json.loads(line)
        probs = problems(rec, spec, refs)
        if not probs:
            if rec["order_id"] in seen:
                probs.add("duplicate_key")
            seen.add(rec["order_id"])
        if probs:
            found[i] = probs
    t = truth[truth.file == "api/ecommerce_orders.jsonl"]
    assert len(t) > 0
    assert found == {r.row: {r.kind} for r in t.itertuples()}
