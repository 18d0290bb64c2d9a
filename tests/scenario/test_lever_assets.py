"""The lever assets in Dagster on real engines: the code location wiring, a materialisation of all four assets
against the small DuckDB book, launchpad config (the README's YAML) and its lever errors, and the stock-data
sensor against a real instance."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml

from lodestar.settings import PROJECT_ROOT
from orchestration.defs import levers as L
from orchestration.resources import WarehouseResource

LEVER_KEYS = {L.SCENARIOS_KEY, L.ALERTS_KEY, L.REPLENISHMENT_KEY, L.SANDBOX_KEY}
LEVER_ASSETS = [L.forecast_scenarios, L.alerts, L.replenishment, L.forecast_sandbox]


def _key(s: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(s)


def _readme_run_config() -> dict:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "raw__forecast_scenarios" in b]
    assert len(blocks) == 1, "the README shows one launchpad config for raw/forecast_scenarios"
    return yaml.safe_load(blocks[0])


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): {k: getattr(v, "value", v) for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def _failure(result: dg.ExecuteInProcessResult) -> str:
    fails = [e.step_failure_data for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert fails, "the run did not fail"
    return fails[0].user_failure_data.description if fails[0].user_failure_data else fails[0].error.message


def test_code_location_wires_levers_group_job_and_sensor() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assert LEVER_KEYS <= graph.get_all_asset_keys()
    assert {graph.get(k).group_name for k in LEVER_KEYS} == {"levers"}
    main = defs.resolve_job_def("main")
    assert LEVER_KEYS <= set(main.asset_layer.executable_asset_keys)
    # Each Python table feeds its staging model and mart; the lever assets sit downstream of what they read.
    for raw, stg, mart in (("raw/alerts", "staging/stg_ml__alerts", "marts/drop_alerts"),
                           ("raw/replenishment", "staging/stg_ml__replenishment", "marts/replenishment_suggestions"),
                           ("raw/forecast_sandbox", "staging/stg_forecast__sandbox", "marts/forecast_sandbox")):
        assert _key(raw) in graph.get(_key(stg)).parent_keys
        assert _key(stg) in graph.get(_key(mart)).parent_keys
    assert _key("raw/forecast_scenarios") in graph.get(_key("staging/stg_forecast__scenarios")).parent_keys
    assert {_key("raw/forecast_predictions"), _key("marts/customer_matrix")} <= graph.get(L.SANDBOX_KEY).parent_keys
    assert {_key("raw/forecast_predictions"), _key("marts/customer_360")} <= graph.get(L.ALERTS_KEY).parent_keys
    assert L.SCENARIOS_KEY in graph.get(L.REPLENISHMENT_KEY).parent_keys
    assert _key("marts/customer_health") in graph.get(L.SCENARIOS_KEY).parent_keys

    sensor = defs.resolve_sensor_def("replenishment_on_new_stock_data")
    assert sensor.job_name == "replenishment" and sensor.default_status == dg.DefaultSensorStatus.STOPPED
    job = defs.resolve_job_def("replenishment")
    assert set(job.asset_layer.executable_asset_keys) == {
        L.REPLENISHMENT_KEY, _key("staging/stg_ml__replenishment"), _key("marts/replenishment_suggestions")}
    # The README's launchpad YAML is valid run config for the main job and for the asset alone.
    dg.validate_run_config(main, _readme_run_config())


def test_materialise_levers_on_the_small_book(book) -> None:
    resources = {"warehouse": WarehouseResource(path=str(book.path))}
    result = dg.materialize(LEVER_ASSETS, resources=resources)
    assert result.success
    meta = _metadata(result)

    sc = book.query("select scenario_name, sum(y_base) b, sum(y_scenario) s, max(changed_levers) c "
                    "from raw.forecast_scenarios group by 1")
    assert sc["scenario_name"].tolist() == ["default"] and sc["b"].iloc[0] == pytest.approx(sc["s"].iloc[0])
    assert meta["raw/forecast_scenarios"]["total_change_pct"] == 0.0
    assert "capacity_units" in meta["raw/forecast_scenarios"]["inputs_read"]

    alerts = book.query("select customer_id, main_driver, substitutes from raw.alerts order by customer_id")
    assert alerts["customer_id"].tolist() == ["C1", "C4"]  # S1 discontinued in ERP; C4's note: line upgrade
    assert alerts["main_driver"].tolist() == ["discontinued SKU in ERP", "production-line upgrade mentioned in CRM notes"]
    assert meta["raw/alerts"]["alerts"] == 2 and "C1" in meta["raw/alerts"]["preview"]

    rep = book.query("select holder_id, sku_id, suggested_qty, flag, scenario_name, snapshot_date "
                     "from raw.replenishment where flag order by holder_id")
    # C5/S4: 70 a week x 2 weeks lead time - 50 on hand; C6/S1: 10 x 2 - 5 (constant orders: no safety stock)
    assert rep[["holder_id", "sku_id", "suggested_qty"]].values.tolist() == [["C5", "S4", 90], ["C6", "S1", 15]]
    assert (rep["scenario_name"] == "default").all() and str(rep["snapshot_date"].iloc[0])[:10] == "2026-11-16"
    assert meta["raw/replenishment"]["flagged"] == 2 and meta["raw/replenishment"]["suggested_units"] == 105

    sb = meta["raw/forecast_sandbox"]
    assert sb["months_scored"] == ["2026-10"] and sb["month_awaiting_actuals"] == "2026-11"
    assert "actuals not yet in" in sb["status"]
    assert book.row_count("raw", "forecast_sandbox") == sb["dagster/row_count"] > 0


def test_launchpad_scenario_and_lever_errors(book) -> None:
    resources = {"warehouse": WarehouseResource(path=str(book.path))}
    ok = dg.materialize([L.forecast_scenarios], resources=resources, run_config=_readme_run_config())
    assert ok.success
    got = book.query("select distinct scenario_name, changed_levers from raw.forecast_scenarios")
    assert got.values.tolist() == [["promo_push", "safety_stock=1.4,promo_half_life=3"]]
    assert _metadata(ok)["raw/forecast_scenarios"]["changed_levers"] == {"safety_stock": 1.4, "promo_half_life": 3.0}

    def run(levers: dict, name: str = "bad") -> dg.ExecuteInProcessResult:
        cfg = {"ops": {"raw__forecast_scenarios": {"config": {"name": name, "levers": levers}}}}
        return dg.materialize([L.forecast_scenarios], resources=resources, run_config=cfg, raise_on_error=False)

    out = run({"safety_stock": 5})
    assert not out.success
    assert "lever safety_stock=5 is out of its allowed range [0.5, 3]" in _failure(out)
    assert "unknown lever 'promo_halflife'" in _failure(run({"promo_halflife": 3}))
    assert "scenario name is empty" in _failure(run({}, name="  "))
    # failed runs wrote nothing
    assert book.query("select distinct scenario_name from raw.forecast_scenarios")["scenario_name"].tolist() == ["promo_push"]
    with pytest.raises(dg.DagsterInvalidConfigError):
        run({"safety_stock": "lots"})


def test_sensor_runs_replenishment_once_per_new_stock_landing() -> None:
    sensor = L.replenishment_on_new_stock_data

    def tick(instance: dg.DagsterInstance, cursor: str | None):
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
        return sensor(ctx), ctx.cursor

    with dg.instance_for_test() as instance:
        out, cursor = tick(instance, None)
        assert isinstance(out, dg.SkipReason) and cursor is None  # nothing landed yet
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=L.POS_SCANS_KEY))
        out, cursor = tick(instance, cursor)
        assert isinstance(out, dg.RunRequest)
        assert out.tags["lodestar/new_data"] == "raw/pos_scans" and out.run_key.startswith("raw/pos_scans@")
        out, cursor = tick(instance, cursor)
        assert isinstance(out, dg.SkipReason)  # the same landing does not fire twice
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=_key("raw/erp_orders")))
        out, cursor = tick(instance, cursor)
        assert isinstance(out, dg.SkipReason)  # other feeds do not trigger it
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=L.DISTRIBUTOR_INVENTORY_KEY))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=L.POS_SCANS_KEY))
        out, cursor = tick(instance, cursor)
        assert isinstance(out, dg.RunRequest)  # one run for both new landings
        assert out.tags["lodestar/new_data"] == "raw/distributor_inventory,raw/pos_scans"
