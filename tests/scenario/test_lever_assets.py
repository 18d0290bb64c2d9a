"""The lever assets in Dagster on real engines: the code location wiring, a materialisation of all four assets
against the small DuckDB book, launchpad config (the README's YAML) and its lever errors, and the declarative
automation that rebuilds replenishment on new stock data, against a real instance."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml
from declared_reads import ReadRecorder

from lodestar.settings import PROJECT_ROOT
from orchestration.defs.levers import assets as L
from orchestration.lib.resources import WarehouseResource

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


def test_readme_launchpad_yaml_is_valid_run_config() -> None:
    """The README's launchpad YAML is valid run config for the main job (the graph's wiring is pinned by
    tests/orchestration/test_definitions_snapshot.py)."""
    from orchestration.definitions import load as load_defs

    main = load_defs().resolve_job_def("main")
    dg.validate_run_config(main, _readme_run_config())


def test_materialise_levers_on_the_small_book(book) -> None:
    resources = {"warehouse": WarehouseResource(path=str(book.path))}
    with ReadRecorder(LEVER_ASSETS) as reads:
        result = dg.materialize(LEVER_ASSETS, resources=resources)
    assert result.success
    reads.assert_declared_equals_read()  # each asset declares exactly the relations its code read
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


def test_new_stock_data_requests_replenishment_by_declarative_automation() -> None:
    """The automation sensor's conditions, evaluated against a real instance: nothing before the first landing,
    raw/replenishment once new stock data lands (and not again for the same landing), then its mart chain."""
    from orchestration.definitions import load as load_defs

    defs = load_defs()
    sensor = defs.resolve_sensor_def("replenishment_on_new_stock_data")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    # raw/replenishment reads the dbt model of the newest stock snapshot, so new stock reaches it through
    # staging/stg_distributor__inventory and intermediate/int_distributor_stock_latest (both eager too).
    chain = [_key("staging/stg_distributor__inventory"), _key("intermediate/int_distributor_stock_latest"),
             L.REPLENISHMENT_KEY, _key("staging/stg_ml__replenishment"), _key("marts/replenishment_suggestions")]
    selection = dg.AssetSelection.assets(*chain)

    def materialise(*keys: dg.AssetKey) -> None:
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))

    with dg.instance_for_test() as instance:
        parents = sorted(defs.resolve_asset_graph().get(L.REPLENISHMENT_KEY).parent_keys, key=str)
        materialise(*parents, *chain)  # a finished main job: everything up to date
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)
        assert result.total_requested == 0
        materialise(L.DISTRIBUTOR_INVENTORY_KEY)  # a new stock snapshot lands

        def tick():
            nonlocal result
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection,
                                                       cursor=result.cursor)
            return {k for k in chain if result.get_requested_partitions(k)}

        requested = tick()
        assert L.REPLENISHMENT_KEY in requested  # with the models downstream of it that can run in the same run
        assert tick() == set()  # requested once: the same landing does not request it again
        materialise(*chain)
        assert tick() == set()
        materialise(_key("raw/erp_customers"))  # not an input of replenishment
        assert tick() == set()
