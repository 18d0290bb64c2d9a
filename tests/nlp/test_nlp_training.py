"""NER training on a CLUENER sample, the saved spaCy pipeline, and MLflow's champion alias logic."""

from __future__ import annotations

import json
import os

import mlflow

from lodestar.tracking import mlflow_client
from nlp.ner import CLUENER_LABELS, load_pipeline, score_spans, split_examples, tags_to_spans
from nlp.training import MODEL_NAME, champion_macro_f1, load_champion_ner, register_pipeline


def test_split_is_fixed_and_disjoint(cluener_file):
    from nlp.ner import load_cluener

    examples = load_cluener(cluener_file)
    a = split_examples(examples)
    b = split_examples(examples)
    assert [e.text for e in a[2]] == [e.text for e in b[2]]
    train_texts = {id(e) for e in a[0]}
    assert not train_texts & {id(e) for e in a[2]}
    assert len(a[0]) + len(a[1]) + len(a[2]) == len(examples)
    assert len(a[2]) > 1000


def test_score_spans_counts_exact_matches_only():
    gold = [[(0, 2, "name"), (3, 6, "company")]]
    pred = [[(0, 2, "name"), (3, 5, "company")]]
    m = score_spans(gold, pred)
    assert m["per_label"]["name"]["f"] == 1.0
    assert m["per_label"]["company"]["f"] == 0.0
    assert abs(m["micro_f1"] - 0.5) < 1e-9
    assert abs(m["macro_f1"] - 1.0 / len(CLUENER_LABELS)) < 1e-9


def test_bio_decoding():
    assert tags_to_spans(["B-name", "I-name", "O", "I-company", "I-company", "B-name"]) == [
        (0, 2, "name"), (3, 5, "company"), (5, 6, "name")]


def test_tiny_training_learns_and_registers_champion(tiny_ner):
    m = tiny_ner["metrics"]
    assert set(m["per_label"]) == set(CLUENER_LABELS)
    assert m["steps"] == 50 and m["n_train"] == 300 and m["n_test"] == 300
    assert m["micro_f1"] > 0.0  # 50 steps on 300 sentences is barely trained, but must find something
    assert m["model_version"] == "1" and m["champion"] is True
    saved = json.loads((tiny_ner["dir"] / "metrics.json").read_text())
    assert abs(saved["macro_f1"] - m["macro_f1"]) < 1e-12
    nlp = load_pipeline(tiny_ner["dir"])
    assert nlp.pipe_names == ["lodestar_char_ner", "lodestar_rules"]


def test_champion_moves_only_on_improvement(tiny_ner, tmp_path):
    uri = tiny_ner["uri"]
    start = champion_macro_f1(uri)
    assert start is not None
    client = mlflow_client(uri)
    process_wide = (os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI"),
                    mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    before = client.get_model_version_by_alias(MODEL_NAME, "champion").version

    # the same pipeline re-registered with a worse score must not take the alias
    worse = tmp_path / "worse"
    import shutil

    shutil.copytree(tiny_ner["dir"], worse)
    data = json.loads((worse / "metrics.json").read_text())
    data["macro_f1"] = start - 0.01
    (worse / "metrics.json").write_text(json.dumps(data))
    version, is_champion = register_pipeline(worse, uri)
    assert not is_champion
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == before

    better = tmp_path / "better"
    shutil.copytree(tiny_ner["dir"], better)
    data["macro_f1"] = start + 0.05
    (better / "metrics.json").write_text(json.dumps(data))
    version2, is_champion2 = register_pipeline(better, uri)
    assert is_champion2
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == int(version2)
    assert version2 != version
    assert abs(champion_macro_f1(uri) - (start + 0.05)) < 1e-9
    # Registering and loading named their store: MLflow's process-wide URIs and variables are as they were.
    load_champion_ner(uri, dst_dir=tmp_path / "dl")
    assert (os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_REGISTRY_URI"),
            mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == process_wide


def test_load_champion_runs(tiny_ner, tmp_path):
    nlp = load_champion_ner(tiny_ner["uri"], dst_dir=tmp_path / "dl")
    doc = nlp("北京市财政局向华为技术有限公司拨付补贴500万元。")
    labels = {e.label_: e.text for e in doc.ents}
    assert labels.get("MONEY") == "500万元"
    assert "华为技术有限公司" in {e.text for e in doc.ents}
