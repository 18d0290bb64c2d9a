"""The intel assets on real engines: the inbox sensor against a real instance, extraction of a rendered scan
into DuckDB through the Dagster asset, alias linking, and the note/complaint/influence signals on a small demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from declared_reads import ReadRecorder
from staged_warehouse import NLP_INPUTS, build_ml_inputs

from lodestar.warehouse import Warehouse
from nlp import intel
from nlp.synth import render_page, text_pdf
from orchestration.defs.intel import assets as intel_defs
from orchestration.lib.resources import WarehouseResource

PAGE = ["关于开展医疗机构环境清洁消毒专项整治的通知",
        "一、省级财政安排专项补贴资金800万元，支持医疗机构更换清洁消毒用品。",
        "二、九州医院等试点单位应于2027年3月31日前完成首批采购。"]


def _resource(inbox: Path, uri: str, tmp_path: Path, truth: Path | None = None) -> intel_defs.IntelResource:
    return intel_defs.IntelResource(inbox=str(inbox), tracking_uri=uri, truth_dir=str(truth or tmp_path / "truth"),
                                    work_dir=str(tmp_path / "work"), shipped_ner_dir=str(tmp_path / "no_model"))


def _tick(instance: dg.DagsterInstance, res: intel_defs.IntelResource) -> list[dg.RunRequest]:
    ctx = dg.build_sensor_context(instance=instance, resources={"intel_config": res})
    return list(intel_defs.intel_inbox_sensor(ctx))


def test_sensor_keys_each_run_by_the_files_sha256(tmp_path):
    """No cursor: every tick names every inbox file by its sha256 run key, and Dagster launches a run key once,
    so only a file with new bytes adds a run."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text_pdf([PAGE], inbox / "a.pdf")
    (inbox / "b.png").write_bytes(b"not really a png")
    res = _resource(inbox, "sqlite:///unused.db", tmp_path)
    with dg.instance_for_test() as instance:
        first = _tick(instance, res)
        keys = {intel.file_hash(inbox / n) for n in ("a.pdf", "b.png")}
        assert {r.run_key for r in first} == keys and len(first) == 2
        by_doc = {r.tags["lodestar/document"]: r for r in first}
        assert by_doc["a.pdf"].run_config == {
            "ops": {"extract_documents": {"config": {"paths": [str(inbox / "a.pdf")]}}}}
        # the same bytes under another name: no new run key
        shutil.copy(inbox / "a.pdf", inbox / "a_copy.pdf")
        assert {r.run_key for r in _tick(instance, res)} == keys
        # a genuinely new file: exactly one new key, for it
        text_pdf([PAGE[:2]], inbox / "c.pdf")
        new = {r.run_key: r for r in _tick(instance, res)}
        assert set(new) - keys == {intel.file_hash(inbox / "c.pdf")}
        assert new[intel.file_hash(inbox / "c.pdf")].tags["lodestar/document"] == "c.pdf"


def test_sensor_run_config_is_valid_for_the_extract_job(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text_pdf([PAGE], inbox / "a.pdf")
    with dg.instance_for_test() as instance:
        (req,) = _tick(instance, _resource(inbox, "sqlite:///unused.db", tmp_path))
    defs = dg.Definitions(assets=[intel_defs.extract_documents], jobs=[intel_defs.extract_job],
                          resources={"warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
                                     "intel_config": _resource(inbox, "sqlite:///unused.db", tmp_path)})
    job = defs.resolve_job_def("intel_extract")
    dg.validate_run_config(job, req.run_config)  # raises DagsterInvalidConfigError on a mismatch


def test_extract_asset_ocrs_a_scan_links_an_alias_and_is_idempotent(tmp_path, warehouse, rules_champion):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    render_page(PAGE).save(inbox / "notice_scan.png")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04 word")
    res = _resource(inbox, rules_champion, tmp_path)
    resources = {"warehouse": WarehouseResource(path=str(warehouse.path)), "intel_config": res}

    with ReadRecorder([intel_defs.extract_documents]) as reads:
        result = dg.materialize([intel_defs.extract_documents], resources=resources)
    assert result.success
    reads.assert_declared_equals_read()
    docs = warehouse.query("select * from raw.intel_documents")
    assert docs["file_name"].tolist() == ["notice_scan.png"]
    assert docs["page_paths"].iloc[0] == "ocr"
    assert docs["doc_id"].iloc[0] == intel.file_hash(inbox / "notice_scan.png")
    facts = warehouse.query("select * from raw.intel_facts")
    # "九州医院" is how the document names 上海九州医院管理有限公司 (an alias in no system): linked all the same
    linked = facts.dropna(subset=["linked_customer_id"])
    assert set(linked["linked_customer_id"]) == {"C00015"}
    assert "九州医院" in set(linked["value"])
    assert linked["fact_type"].iloc[0] == "demand_signal"  # 采购 in the sentence
    money = facts[facts["entity_label"] == "MONEY"]
    assert ("800", "万元") in set(zip(money["value"], money["unit"], strict=True))
    assert {"DEADLINE", "POLICY"} & set(facts["entity_label"])
    rejects = warehouse.query("select file_name, kind, feed, reason from raw.intel_rejects order by file_name")
    assert rejects["file_name"].tolist() == ["broken.pdf", "notes.docx"]
    assert rejects["kind"].tolist() == ["corrupt", "unsupported_format"]
    assert set(rejects["feed"]) == {"documents"}

    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert mats["raw/intel_facts"]["linked_customers"].value == ["C00015"]
    assert mats["raw/intel_rejects"]["dagster/row_count"].value == 2

    counts = {t: warehouse.row_count("raw", t) for t in intel_defs.DOC_KEYS}
    again = dg.materialize([intel_defs.extract_documents], resources=resources)
    assert again.success
    assert {t: warehouse.row_count("raw", t) for t in intel_defs.DOC_KEYS} == counts
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in again.get_asset_materialization_events()}
    assert meta["raw/intel_documents"]["skipped_known_hash"].value == 3  # the scan and both rejected files
    assert meta["raw/intel_documents"]["processed_this_run"].value == 0


def test_linking_withholds_a_name_two_customers_share(tmp_path):
    from nlp.linking import customer_gazetteer, find_customer_mentions

    customers = pd.DataFrame({"id": ["C1", "C2", "C3"], "city": ["北京", "武汉", "天津"],
                              "name": ["北京君亭商业连锁股份有限公司", "武汉君亭商业连锁有限公司", "天津光明酒店管理有限公司"],
                              "aliases": ["君亭超市（北京）", "君亭超市集团", "光明酒店集团"]})
    gaz = customer_gazetteer(customers)
    text = "君亭超市、光明\n酒店等重点企业应于2027年6月30日前完成替代。"
    found = find_customer_mentions(text, gaz)
    # 君亭超市 is both C1 and C2: not linked; 光明酒店 spans a line break and still links, with original offsets
    assert [(m[3], text[m[0]:m[1]]) for m in found] == [("C3", "光明\n酒店")]


def _jsonl(path: Path) -> pd.DataFrame:
    """Rows of a demo JSON-lines drop; the lines the generator broke on purpose are skipped (the connector
    rejects them in the real graph)."""
    rows = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return pd.DataFrame(rows)


def _land_demo(wh: Warehouse, demo: Path) -> None:
    """The raw connector tables the signal assets read, from the demo's drops (the connectors do this in the graph)."""
    crm = demo / "drops" / "crm"
    now = pd.Timestamp("2026-11-27 08:00")
    notes = _jsonl(crm / "meeting_notes.jsonl")
    notes["note_date"] = pd.to_datetime(notes["note_date"], format="%Y-%m-%d", errors="coerce")
    notes = notes.dropna(subset=["note_id", "text", "note_date"])
    wh.replace_table("raw", "crm_meeting_notes", notes.drop_duplicates("note_id").assign(_loaded_at=now))
    for feed, key in (("visits", "visit_id"), ("contacts", "contact_id"), ("accounts", "account_id")):
        df = _jsonl(crm / f"{feed}.jsonl").dropna(subset=[key]).drop_duplicates(key)
        wh.replace_table("raw", f"crm_{feed}", df.assign(_loaded_at=now))
    complaints = pd.concat([_jsonl(p) for p in sorted((demo / "drops" / "complaints").glob("*.jsonl"))])
    complaints["received_at"] = pd.to_datetime(complaints["received_at"], errors="coerce")
    complaints = complaints.dropna(subset=["received_at", "text", "complaint_id"]).drop_duplicates("complaint_id")
    wh.replace_table("raw", "complaints_complaints", complaints.assign(_loaded_at=now))
    erp = pd.read_csv(demo / "drops" / "erp" / "customers.csv", encoding="gb18030", dtype=str)
    wh.replace_table("raw", "erp_customers", erp[["customer_id", "legal_name", "city"]].assign(_loaded_at=now))
    build_ml_inputs(wh, NLP_INPUTS)  # the dbt models the signal assets read


def test_signal_assets_on_a_small_demo(tmp_path, small_demo):
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    _land_demo(wh, small_demo)
    res = _resource(tmp_path / "inbox", "sqlite:///unused.db", tmp_path, truth=small_demo / "truth")
    resources = {"warehouse": WarehouseResource(path=str(wh.path)), "intel_config": res}
    signal_assets = [intel_defs.intel_note_sentiment, intel_defs.complaint_signals, intel_defs.influence_graph]
    with ReadRecorder(signal_assets) as reads:
        result = dg.materialize(signal_assets, resources=resources)
    assert result.success
    reads.assert_declared_equals_read()
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}

    # sentiment: every note scored, accuracy against the generator's truth reported and better than chance
    n_notes = wh.row_count("raw", "crm_meeting_notes")
    assert wh.row_count("raw", "intel_note_sentiment") == n_notes > 20
    acc = meta["raw/intel_note_sentiment"]["truth_accuracy"].value
    print(f"sentiment accuracy {acc}, complaint link accuracy "
          f"{meta['raw/intel_complaint_heat']['truth_link_accuracy'].value}")
    assert acc >= 0.995, f"sentiment accuracy {acc}"  # measured 0.9952 (412 of 414) on this demo: one miss more fails
    cols = wh.query("describe raw.intel_note_sentiment")["column_name"].tolist()
    assert {"note_id", "sentiment", "score"} <= set(cols)

    hot = wh.query("select * from raw.intel_complaint_hotwords")
    assert len(hot) and hot["week_start"].notna().all()
    assert set(hot["competitor"]) - {intel.NO_COMPETITOR}, "no competitor found in any complaint"
    heat = wh.query("select * from raw.intel_complaint_heat")
    assert len(heat) and (heat["heat"] >= heat["complaints"]).all()
    assert not heat.duplicated(["customer_id", "week_start"]).any()
    link_acc = meta["raw/intel_complaint_heat"]["truth_link_accuracy"].value
    # Measured 0.65 on this demo (rule-based, the same every run): at 0.6 five links in a hundred could go unnoticed.
    assert link_acc >= 0.64, f"complaint alias linking accuracy {link_acc}"

    edges = wh.query("select * from raw.intel_influence_edges")
    assert len(edges) and (edges["source_contact_id"] < edges["target_contact_id"]).all()
    assert (edges["weight"] == edges["co_visits"] + 0.5 * edges["co_mentions"]).all()
    assert wh.row_count("raw", "intel_influence_nodes") >= edges["source_contact_id"].nunique()

    # re-running replaces, never appends
    before = {t: wh.row_count("raw", t) for t in ("intel_note_sentiment", "intel_complaint_hotwords",
                                                 "intel_complaint_heat", "intel_influence_edges")}
    assert dg.materialize([intel_defs.intel_note_sentiment, intel_defs.complaint_signals,
                           intel_defs.influence_graph], resources=resources).success
    assert {t: wh.row_count("raw", t) for t in before} == before


def test_missing_staging_tables_name_what_must_run_first(tmp_path):
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    with pytest.raises(LookupError, match="staging.stg_crm__meeting_notes is missing.*dbt"):
        intel.score_meeting_notes(wh)


# Measured on this demo (scale 0.05, seed 20261127) with the shipped NER pipeline as champion: 25 of 29 planted
# facts found, 25 of 29 reported facts planted (policy titles of standards count as false policies; two deadlines
# are missed and two customers not linked). One fact fewer either way fails the floor.
FACTS_MEASURED = 25 / 29
FACTS_FLOOR = 0.85


SECRET = "tok-intel-5d2e-never-log-me"


def test_document_facts_of_the_shipped_champion_score_against_the_planted_truth(tmp_path, small_demo, monkeypatch):
    """The extract asset as the main job runs it (the shipped NER registered as champion in a real MLflow
    store) over the demo's eight documents: its facts are scored against truth/documents.jsonl. The run has a
    test token in its environment, which must appear in none of MLflow's params, tags or files, nor in the
    Dagster event log."""
    from prerequisites import require_module

    require_module("torch")
    from lodestar.settings import PROJECT_ROOT
    from nlp.fact_scoring import score_document_facts

    for var in ("LODESTAR_DEMO_API_TOKEN", "LODESTAR_PG_PASSWORD", "LODESTAR_COCKPIT_DEMO_PASSWORD"):
        monkeypatch.setenv(var, SECRET)
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    _land_demo(wh, small_demo)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    info = intel.ensure_ner_champion(uri, PROJECT_ROOT / "nlp" / "models" / "lodestar_ner", tmp_path / "work")
    assert info["source"] == "shipped", info
    res = intel_defs.IntelResource(inbox=str(small_demo / "documents"), tracking_uri=uri,
                                   truth_dir=str(small_demo / "truth"), work_dir=str(tmp_path / "work"))
    result = dg.materialize([intel_defs.extract_documents],
                            resources={"warehouse": WarehouseResource(path=str(wh.path)), "intel_config": res})
    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    facts_meta = meta["raw/intel_facts"]
    scores = score_document_facts(wh, small_demo / "truth" / "documents.jsonl")
    overall = scores["overall"]
    print("document facts against truth:", {k: (round(v["precision"], 4), round(v["recall"], 4))
                                            for k, v in scores.items()})
    assert overall["planted"] == 29, overall  # another count means another demo, not a better model
    assert facts_meta["truth_precision"].value == round(overall["precision"], 4)
    assert facts_meta["truth_recall"].value == round(overall["recall"], 4)
    assert overall["precision"] >= FACTS_FLOOR and overall["recall"] >= FACTS_FLOOR, scores
    # per kind, the ones extraction gets fully right stay fully right
    for kind in ("standards", "amounts"):
        assert scores[kind]["precision"] == scores[kind]["recall"] == 1.0, (kind, scores[kind])
    assert scores["policy_names"]["recall"] == 1.0 and scores["customers"]["precision"] == 1.0, scores

    from lodestar.tracking import mlflow_client

    client = mlflow_client(uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert runs, "the champion registration logged no MLflow run"
    logged = [f"{k}={v}" for r in runs for k, v in {**r.data.params, **r.data.tags}.items()]
    events = [str(e) for e in result.all_events]
    leaked = [x for x in logged + events if SECRET in x]
    leaked += [str(p) for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaked, f"the token leaked into: {leaked[:5]}"
