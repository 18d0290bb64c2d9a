"""A wrong drop-folder path is reported, never a quiet "done" with 0 files: a folder the company file names that
does not exist fails the landing with the path and the feeds; a folder that is missing by default (the demo drops,
the shared data) or matches no file is a warning (the progress line, the summary, metadata ``files_matched: 0``
and the WARN asset check ``files_matched``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.contracts import load_source_contract
from connectors.files import DropFolderError, land_file_source
from lodestar.company import COMPANY_ENV
from lodestar.settings import PROJECT_ROOT

SOURCE = """
source: {name}
root: drops
feeds:
  customers:
    files: "customers*.csv"
    format: csv
    primary_key: [customer_id]
    columns:
      customer_id: {{type: string, required: true}}
"""


def _contract(folder: Path, name: str = "shop"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(SOURCE.format(name=name), encoding="utf-8")
    return load_source_contract(path)


def test_a_feed_without_files_says_so(tmp_path: Path, warehouse):
    contract = _contract(tmp_path / "contracts")
    missing = land_file_source(contract, warehouse, root=tmp_path / "nowhere").feeds["customers"]
    assert (missing.files_matched, missing.folder_missing, missing.rows_seen) == (0, True, 0)
    assert missing.warning == f"raw.shop_customers: 0 files matched, the drop folder {tmp_path / 'nowhere' / 'shop'} does not exist"
    (tmp_path / "drops" / "shop").mkdir(parents=True)
    (tmp_path / "drops" / "shop" / "orders.csv").write_text("x\n1\n", encoding="utf-8")  # not the feed's pattern
    empty = land_file_source(contract, warehouse, root=tmp_path / "drops").feeds["customers"]
    assert empty.files_matched == 0 and not empty.folder_missing
    assert empty.warning == f"raw.shop_customers: 0 files matched 'customers*.csv' in {tmp_path / 'drops' / 'shop'}"
    (tmp_path / "drops" / "shop" / "customers.csv").write_text("customer_id\nC1\n", encoding="utf-8")
    landed = land_file_source(contract, warehouse, root=tmp_path / "drops").feeds["customers"]
    assert (landed.files_matched, landed.rows_accepted, landed.warning) == (1, 1, None)
    # Loaded before: the file still matches, so a quiet re-run is no warning.
    again = land_file_source(contract, warehouse, root=tmp_path / "drops").feeds["customers"]
    assert (again.files_matched, again.files_skipped, again.warning) == (1, 1, None)


def test_a_missing_folder_named_in_the_company_file_is_an_error(tmp_path: Path, warehouse, monkeypatch):
    contract = _contract(tmp_path / "acme" / "contracts")
    company = tmp_path / "acme" / "lodestar.yaml"
    company.write_text("company: ACME\ncurrency: EUR\ncontracts_dir: contracts\n"
                       "sources:\n  shop: {path: /srv/exports/moved}\n", encoding="utf-8")
    monkeypatch.setenv(COMPANY_ENV, str(company))
    with pytest.raises(DropFolderError) as err:
        land_file_source(contract, warehouse)
    message = str(err.value)
    assert "/srv/exports/moved" in message and str(company) in message and "shop.customers" in message
    assert not warehouse.path.exists() or not warehouse.table_exists("raw", "shop_customers")


def test_lodestar_run_reports_the_missing_and_the_empty_folder(tmp_path: Path, home: Path):
    """`lodestar run` for a company with one feed at a folder that does not exist (error) and one at an empty
    folder (warning): the progress line and the summary say which, and the run exits 1."""
    root = tmp_path / "acme"
    _contract(root / "contracts", "shop")
    _contract(root / "contracts", "other")
    (tmp_path / "empty exports").mkdir()
    moved = tmp_path / "moved away"
    (root / "lodestar.yaml").write_text(
        "company: ACME\ncurrency: EUR\ncontracts_dir: contracts\nhttp: {}\n"
        f"sources:\n  shop: {{path: '{moved}'}}\n  other: {{path: '{tmp_path / 'empty exports'}'}}\n",
        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "250"}
    env.pop(COMPANY_ENV, None)
    proc = subprocess.run(
        [sys.executable, "-m", "lodestar.cli", "run", "--company", str(root / "lodestar.yaml"),
         "--select", "tag:layer=landing"],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]
    lines = out.splitlines()
    other = next(i for i, line in enumerate(lines) if "done" in line and "land_other" in line)
    assert "1 warning(s)" in lines[other]
    assert f"warning: raw.other_customers: 0 files matched 'customers*.csv' in {tmp_path / 'empty exports'}" in lines[other + 1]
    assert any("FAILED" in line and "land_shop" in line for line in lines)
    # The summary: the failed step with the path and the feed, and the warning with the WARN check's name.
    failure = next(line for line in lines if line.strip().startswith("land_shop:"))
    assert f"drop folder {moved} does not exist" in failure and "shop.customers" in failure
    assert "warnings: 1" in out
    assert "raw/other_customers:files_matched: raw.other_customers: 0 files matched" in out
