"""`lodestar demo` tells the truth: a failed asset check or a failed step is a non-zero exit, and the
summary names each one (on a selection of the graph over a tiny company, not another whole main job)."""

from __future__ import annotations

from kills import SEED, TINY_SCALE
from subprocess_env import lodestar


def test_a_failed_asset_check_fails_the_command_and_is_named(tiny_home):
    # POS alone on an empty warehouse: every scan references an ERP barcode not landed yet, so the
    # reject share of raw/pos_scans is far above its 5% threshold.
    run = lodestar(tiny_home, "demo", "--scale", TINY_SCALE, "--seed", SEED, "--select", "key:raw/pos_*",
                   "--history-weeks", "0")
    out = run.stdout
    assert run.returncode == 1, out[-3000:] + run.stderr[-3000:]
    assert "main job FAILED" in out and "asset check(s) failed" in out
    assert "failed check raw/pos_scans:reject_rate_within_threshold" in out
    assert "Traceback" not in out + run.stderr


def test_a_failed_step_fails_the_command_and_is_named(tiny_home):
    # The warehouse path is a directory: the landing step cannot open it.
    broken = tiny_home / "not-a-file.duckdb"
    broken.mkdir(parents=True)
    run = lodestar(tiny_home, "demo", "--scale", TINY_SCALE, "--seed", SEED, "--select", "key:raw/pos_*",
                   "--history-weeks", "0", env={"LODESTAR_WAREHOUSE": str(broken)})
    out = run.stdout
    assert run.returncode == 1, out[-3000:] + run.stderr[-3000:]
    assert "main job FAILED" in out
    assert "failed steps:" in out and "land_pos" in out.split("failed steps:")[1].splitlines()[0]
    assert "cannot read the warehouse" in out
