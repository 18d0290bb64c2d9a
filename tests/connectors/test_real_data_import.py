"""The three real-data contracts load real samples (first lines of each shared file) through the file connector."""

from __future__ import annotations

import gzip
from pathlib import Path

from prerequisites import require

from connectors.contracts import load_source_contract
from connectors.files import land_file_source
from lodestar.settings import get_settings

REPO_CONTRACTS = Path(__file__).resolve().parents[2] / "connectors" / "contracts"
SHARED = get_settings().shared_data_dir
require((SHARED / "walmart_dept_weekly").is_dir(), f"no shared data at {SHARED} (set LODESTAR_SHARED_DATA)")


def head_copy(src: Path, dst: Path, lines: int) -> None:
    """First ``lines`` lines (header included) byte for byte: BOM, CRLF and gzip kept."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rb") as fin, opener(dst, "wb") as fout:
        for i, line in enumerate(fin):
            if i >= lines:
                break
            fout.write(line)


def test_walmart(tmp_path, warehouse):
    src = SHARED / "walmart_dept_weekly"
    for f, n in [
        ("stores_01-35.csv", 10_000),
        ("train_stores01-35_to2011-12-30.csv", 3001),
        ("features_stores01-35_to2011-12-30.csv", 10_000),
    ]:
        head_copy(src / f, tmp_path / "walmart_dept_weekly" / f, n)
    res = land_file_source(load_source_contract(REPO_CONTRACTS / "walmart.yaml"), warehouse, root=tmp_path)
    assert list(res.feeds) == ["stores", "dept_weekly", "features"]
    assert {f: (r.rows_accepted, r.rows_rejected) for f, r in res.feeds.items()} == {
        "stores": (35, 0),
        "dept_weekly": (3000, 0),
        "features": (3500, 0),
    }
    assert res.feeds["dept_weekly"].columns["week_date"] == "DATE"
    row = warehouse.query(
        "select * from raw.walmart_dept_weekly where store = 1 and dept = 1 and week_date = '2010-02-12'"
    )
    assert row["weekly_sales"].tolist() == [46039.49] and row["is_holiday"].tolist() == [True]
    md = warehouse.query(
        "select count(*) filter (where markdown1 is null) n_null, count(markdown1) n from raw.walmart_features"
    )
    assert md["n_null"][0] > 0 and md["n"][0] > 0  # "NA" became NULL, real markdowns kept
    assert warehouse.query("select store_type from raw.walmart_stores where store = 3")[
        "store_type"
    ].tolist() == ["B"]


def test_online_retail_keeps_cancellations(tmp_path, warehouse):
    name = "online_retail_2010-12-01_to_2011-05-31.csv.gz"
    head_copy(SHARED / "online_retail" / name, tmp_path / "online_retail" / name, 5001)
    res = land_file_source(
        load_source_contract(REPO_CONTRACTS / "online_retail.yaml"), warehouse, root=tmp_path
    )
    tx = res.feeds["transactions"]
    assert (tx.rows_seen, tx.rows_accepted, tx.rows_rejected) == (5000, 5000, 0)
    c = warehouse.query(
        "select count(*) n, min(quantity) q, count(*) filter (where customer_id is null) anon "
        "from raw.online_retail_transactions where invoice_no like 'C%'"
    )
    assert c["n"][0] > 0 and c["q"][0] < 0
    assert tx.columns["invoice_date"] == "TIMESTAMP" and tx.columns["quantity"] == "BIGINT"


def test_superstore_bom_and_day_first_dates(tmp_path, warehouse):
    name = "superstore_orders_2019-2021.csv"
    head_copy(SHARED / "superstore" / name, tmp_path / "superstore" / name, 501)
    assert (tmp_path / "superstore" / name).read_bytes()[:3] == b"\xef\xbb\xbf"
    res = land_file_source(load_source_contract(REPO_CONTRACTS / "superstore.yaml"), warehouse, root=tmp_path)
    assert (res.feeds["orders"].rows_accepted, res.feeds["orders"].rows_rejected) == (500, 0)
    row = warehouse.query(
        "select order_date, ship_date, product_name, postal_code from raw.superstore_orders where row_id = 1"
    )
    assert str(row["order_date"][0])[:10] == "2019-01-03" and str(row["ship_date"][0])[:10] == "2019-01-07"
    assert row["product_name"][0].startswith('Message Book, Wirebound, Four 5 1/2" X 4"')
    assert row["postal_code"][0] == "77095"
