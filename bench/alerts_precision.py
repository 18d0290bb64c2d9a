"""Drop alerts' precision next to their recall, against the demo company's planted events (truth/).

Reads a warehouse the main job built (`lodestar demo`), and scores:
- ``main_job``: raw.alerts as the main job wrote them;
- ``run_rate_only``: the alerts recomputed without the forecast (event factors on the 13-week run-rate);
- ``model_point_forecast``: recomputed from the stored forecast, a model-trend drop raised on the point forecast
  alone (how the alerts worked before the interval check);
- ``model``: recomputed the way build_alerts does: a model-trend drop only when the run-rate lies above the
  forecast's 80% interval for the month.

For every false alarm it lists the drop, the reason and the forecast's drivers, so the cause can be read off.

    .venv/bin/python bench/alerts_precision.py --home "$LODESTAR_HOME" --truth "$LODESTAR_HOME/demo/truth" --label scale005
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from lodestar.warehouse import Warehouse
from ml.alerts import alert_precision, drop_alerts, load_alert_inputs

RESULTS = Path(__file__).resolve().parent / "results"


def _round(d: dict) -> dict:
    return {k: (None if pd.isna(v) else round(float(v), 4)) for k, v in d.items()}


def score(warehouse: Warehouse, truth: Path) -> dict:
    injected = pd.read_csv(truth / "injected_events.csv", dtype={"customer_id": str})
    inp = load_alert_inputs(warehouse)
    args = (inp["orders"], inp["skus"], inp["customers"], inp["notes"])
    variants = {
        "main_job": warehouse.query("select * from raw.alerts"),
        "run_rate_only": drop_alerts(*args, None),
        "model_point_forecast": drop_alerts(*args, inp.get("forecast"), require_confident_model=False),
        "model": drop_alerts(*args, inp.get("forecast")),
    }
    out: dict = {"injected_events": injected[["customer_id", "event_type", "expected_drop_pct"]].to_dict("records")}
    truth_ids = set(injected["customer_id"])
    for name, alerts in variants.items():
        out[name] = _round(alert_precision(alerts, injected))
        fa = alerts[~alerts["customer_id"].isin(truth_ids)]
        out[f"{name}_false_alarms"] = [
            {"customer_id": r.customer_id, "drop_pct": float(r.drop_pct), "reason": r.reason,
             "drivers": json.loads(r.contributions).get("model trend drivers (units)", {})}
            for r in fa.sort_values("drop_pct", ascending=False).itertuples()]
        missed = truth_ids - set(alerts["customer_id"])
        out[f"{name}_missed"] = sorted(missed)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="LODESTAR_HOME of a main-job run (warehouse.duckdb)")
    ap.add_argument("--truth", type=Path, required=True, help="the demo company's truth/ folder")
    ap.add_argument("--label", default="demo")
    args = ap.parse_args()
    res = score(Warehouse(args.home / "warehouse.duckdb"), args.truth)
    res["label"] = args.label
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"alerts_{args.label}.json"
    path.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for k in ("main_job", "run_rate_only", "model_point_forecast", "model"):
        print(k, res[k])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
