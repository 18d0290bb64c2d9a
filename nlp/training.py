"""Train the CLUENER NER, save it as a spaCy pipeline, and track it in MLflow as the `lodestar-ner` model whose
`champion` alias moves only to a version with a higher held-out macro F1."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from spacy.language import Language

from lodestar.settings import get_settings
from lodestar.tracking import fluent_store, mlflow_client
from nlp.embeddings import cached_pretrain, read_thucnews_titles
from nlp.ner import (
    CLUENER_LABELS,
    DEFAULT_HP,
    SPLIT_SEED,
    CharTagger,
    EnsembleTagger,
    build_pipeline,
    load_cluener,
    load_pipeline,
    load_tagger,
    score_spans,
    split_examples,
    train_tagger,
)

log = logging.getLogger(__name__)
MODEL_NAME = "lodestar-ner"
EXPERIMENT = "lodestar-ner"
CHAMPION = "champion"
PIPELINE_ARTIFACT = "ner_pipeline"


def cluener_path() -> Path:
    return get_settings().shared_data_dir / "cluener2020" / "train.json"


def train_ner(
    out_dir: Path,
    *,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    sample_size: int | None = None,
    seed: int = 0,
    tracking_uri: str | None = None,
    data_path: Path | None = None,
    hp: dict[str, Any] | None = None,
    eval_every: int = 400,
    log_file: Path | None = None,
    init_dir: Path | None = None,
    titles_path: Path | None = None,
    embeddings_cache: Path | None = None,
) -> dict[str, Any]:
    """Train on CLUENER (own train/dev/test split of its train.json, fixed seed), save the spaCy pipeline to
    out_dir, score the held-out test split. sample_size caps the training sentences (tiny runs for tests; dev
    and test are then capped to 300). With tracking_uri the run, metrics and pipeline go to MLflow and the pipeline is
    registered as `lodestar-ner`, becoming champion only if it beats the champion's test macro F1.
    init_dir continues training from a saved tagger (a pipeline dir or its lodestar_char_ner folder); pass a
    lower lr in hp for such a fine-tuning pass. train_seconds then counts this pass only.
    Unless hp["pretrain_epochs"] is 0, char/bigram embeddings are first pretrained by skip-gram on raw text
    (nlp.embeddings; the train split's sentences + THUCNews titles at titles_path), memoised in embeddings_cache
    (default: <artifacts_dir>/ner/embeddings); pretrain_seconds reports that pass.

    Returns {"micro_f1", "macro_f1", "per_label": {label: {"p","r","f"}}, "train_seconds", "steps", ...,
    "model_version", "champion"}."""
    import torch

    torch.set_num_threads(1)  # the machine is shared; one core per training run
    data_path = data_path or cluener_path()
    train, dev, test = split_examples(load_cluener(data_path))
    if sample_size:
        # tiny runs (tests) also score on fewer sentences; n_test is logged so such runs are recognisable
        train, dev, test = train[:sample_size], dev[:300], test[:300]
    logf = Path(log_file).open("a", encoding="utf-8") if log_file else None

    def progress(msg: str) -> None:
        log.info(msg)
        if logf:
            logf.write(msg + "\n")
            logf.flush()

    if embeddings_cache is None:
        embeddings_cache = get_settings().artifacts_dir / "ner" / "embeddings"
    init = None
    if init_dir is not None:
        init_dir = Path(init_dir)
        init = CharTagger.load(_tagger_dir(init_dir))
    t0 = time.monotonic()
    full_hp = {**DEFAULT_HP, **(init.hp if init else {}), **(hp or {})}
    pretrained, pretrain_info = None, {"pretrain_seconds": 0.0}
    if init is None and full_hp["pretrain_epochs"] > 0:
        # raw text only: the training split's sentences (not dev/test) and the THUCNews titles
        titles = read_thucnews_titles(titles_path)
        texts = [ex.text for ex in train] + (titles[:3 * sample_size] if sample_size else titles)
        chars, bigrams, key = cached_pretrain(
            texts, embeddings_cache, char_dim=full_hp["char_dim"], bigram_dim=full_hp["bigram_dim"], seed=seed,
            epochs=full_hp["pretrain_epochs"])
        pretrained = (chars, bigrams)
        pretrain_info = {"pretrain_seconds": round(time.monotonic() - t0, 1), "pretrain_key": key,
                         "pretrain_sentences": len(texts), "pretrain_chars": sum(map(len, texts))}
        progress(f"pretrained {len(chars)} char and {len(bigrams)} bigram vectors on {len(texts)} texts "
                 f"in {pretrain_info['pretrain_seconds']}s (key {key})")
    tagger, info = train_tagger(train, dev, max_steps=max_steps, max_seconds=max_seconds, seed=seed, hp=hp,
                                eval_every=eval_every, log=progress, init=init, pretrained=pretrained)
    t_pred = time.monotonic()
    metrics = score_spans([ex.spans for ex in test], tagger.predict([ex.text for ex in test]))
    metrics.update({
        "train_seconds": round(info["train_seconds"], 1), **pretrain_info,
        "total_seconds": round(time.monotonic() - t0, 1),
        "test_predict_seconds": round(time.monotonic() - t_pred, 1), "steps": info["steps"],
        "epochs": info["epochs"], "best_dev_macro_f1": info["best_dev_macro_f1"],
        "best_dev_micro_f1": info["best_dev_micro_f1"], "dev_per_label": info["best_dev_per_label"],
        "selected_weights": info["selected_weights"], "n_pretrained": info["n_pretrained"], "hp": info["hp"],
        "split_seed": SPLIT_SEED, "n_train": len(train), "n_dev": len(dev), "n_test": len(test), "seed": seed,
        "init_dir": str(init_dir) if init_dir else None,
    })
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp = build_pipeline(tagger)
    nlp.meta["name"] = "lodestar_ner"
    nlp.meta["performance"] = {"test_macro_f1": metrics["macro_f1"], "test_micro_f1": metrics["micro_f1"]}
    nlp.to_disk(out_dir)
    (out_dir / "metrics.json").write_text(json.dumps({**metrics, "history": info["history"]}, indent=1),
                                          encoding="utf-8")
    progress(f"test macro F1 {metrics['macro_f1']:.4f} micro F1 {metrics['micro_f1']:.4f}")
    metrics["model_version"] = None
    metrics["champion"] = False
    if tracking_uri:
        version, is_champion = log_to_mlflow(out_dir, metrics, info["hp"], tracking_uri)
        metrics["model_version"], metrics["champion"] = version, is_champion
    if logf:
        logf.close()
    return metrics


def _tagger_dir(path: Path) -> Path:
    """The tagger folder of a pipeline dir (or the folder itself when given directly)."""
    path = Path(path)
    return path / "lodestar_char_ner" if (path / "lodestar_char_ner").exists() else path


def ensemble_ner(member_dirs: list[Path], out_dir: Path, *, data_path: Path | None = None,
                 tracking_uri: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Combine trained pipelines (dirs saved by train_ner, or ensembles) into one EnsembleTagger pipeline:
    scores it on the dev split, then once on the held-out test split, saves it to out_dir with metrics.json
    (members' own metrics under "members") and, with tracking_uri, registers it like train_ner does.
    Choose the members on dev before calling this: it reads the test split."""
    import torch

    torch.set_num_threads(1)
    members: list[CharTagger] = []
    member_info: list[dict[str, Any]] = []
    for d in map(Path, member_dirs):
        t = load_tagger(_tagger_dir(d))
        members += t.members if isinstance(t, EnsembleTagger) else [t]
        saved = d / "metrics.json"
        info = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else {}
        member_info.append({"dir": str(d), **{k: info.get(k) for k in (
            "macro_f1", "micro_f1", "best_dev_macro_f1", "train_seconds", "train_seconds_total", "steps",
            "epochs", "seed", "selected_weights", "init_dir")}})
    tagger = EnsembleTagger(members)
    _train, dev, test = split_examples(load_cluener(data_path or cluener_path()))
    dev_m = score_spans([ex.spans for ex in dev], tagger.predict([ex.text for ex in dev]))
    t_pred = time.monotonic()
    metrics = score_spans([ex.spans for ex in test], tagger.predict([ex.text for ex in test]))
    seconds = [m.get("train_seconds_total") or m.get("train_seconds") or 0.0 for m in member_info]
    metrics.update({
        "test_predict_seconds": round(time.monotonic() - t_pred, 1),
        "train_seconds": round(sum(seconds), 1), "train_seconds_per_member": seconds,
        "steps": sum(m.get("steps") or 0 for m in member_info),
        "epochs": sum(m.get("epochs") or 0 for m in member_info),
        "best_dev_macro_f1": dev_m["macro_f1"], "best_dev_micro_f1": dev_m["micro_f1"],
        "dev_macro_f1": dev_m["macro_f1"], "dev_micro_f1": dev_m["micro_f1"], "dev_per_label": dev_m["per_label"],
        "split_seed": SPLIT_SEED, "n_train": len(_train), "n_dev": len(dev), "n_test": len(test),
        "seed": ",".join(str(m.get("seed")) for m in member_info), "n_members": len(members),
        "combine": "mean of emission scores and CRF transition/start/end scores, one Viterbi pass",
        "members": member_info, "training_note": note,
    })
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp = build_pipeline(tagger)
    nlp.meta["name"] = "lodestar_ner"
    nlp.meta["performance"] = {"test_macro_f1": metrics["macro_f1"], "test_micro_f1": metrics["micro_f1"],
                               "dev_macro_f1": dev_m["macro_f1"]}
    nlp.to_disk(out_dir)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    log.info("ensemble of %d: dev macro F1 %.4f, test macro F1 %.4f", len(members), dev_m["macro_f1"],
             metrics["macro_f1"])
    metrics["model_version"] = None
    metrics["champion"] = False
    if tracking_uri:
        version, is_champion = log_to_mlflow(out_dir, metrics, tagger.hp, tracking_uri)
        metrics["model_version"], metrics["champion"] = version, is_champion
    return metrics


def _ensure_experiment(client: Any, tracking_uri: str) -> str:
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:///"):
        # keep artifacts beside the sqlite file, not in ./mlruns of whatever the working directory is
        location = (Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return client.create_experiment(EXPERIMENT, artifact_location=location)


def champion_macro_f1(tracking_uri: str) -> float | None:
    """Test macro F1 of the current champion, or None when there is none."""
    client = mlflow_client(tracking_uri)
    try:
        mv = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException:
        return None
    return client.get_run(mv.run_id).data.metrics.get("test_macro_f1")


def log_to_mlflow(pipeline_dir: Path, metrics: dict[str, Any], hp: dict[str, Any], tracking_uri: str,
                  ) -> tuple[str, bool]:
    """Log params, metrics and the pipeline; register a new version; move `champion` only if it is better."""
    import mlflow

    client = mlflow_client(tracking_uri)
    exp_id = _ensure_experiment(client, tracking_uri)
    # The fluent calls log to tracking_uri; MLflow's globals and MLFLOW_TRACKING_URI are back as they were after.
    with fluent_store(tracking_uri), mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_params({**{f"hp_{k}": v for k, v in hp.items()},
                           **{k: metrics[k] for k in ("n_train", "n_dev", "n_test", "seed", "steps", "epochs")}})
        flat = {"test_macro_f1": metrics["macro_f1"], "test_micro_f1": metrics["micro_f1"],
                "test_micro_p": metrics["micro_p"], "test_micro_r": metrics["micro_r"],
                "best_dev_macro_f1": metrics["best_dev_macro_f1"], "train_seconds": metrics["train_seconds"]}
        for label in CLUENER_LABELS:
            for k, v in metrics["per_label"][label].items():
                flat[f"test_{label}_{k}"] = v
        mlflow.log_metrics(flat)
        mlflow.log_artifacts(str(pipeline_dir), artifact_path=PIPELINE_ARTIFACT)
        source = f"{run.info.artifact_uri}/{PIPELINE_ARTIFACT}"
    try:
        client.get_registered_model(MODEL_NAME)
    except MlflowException:
        client.create_registered_model(MODEL_NAME, description="CLUENER char BiLSTM-CRF + rules (nlp.ner)")
    # create_model_version directly: mlflow.register_model insists on a logged-model flavour we do not need
    mv = client.create_model_version(MODEL_NAME, source=source, run_id=run.info.run_id,
                                     tags={"test_macro_f1": f"{metrics['macro_f1']:.4f}"})
    current = champion_macro_f1(tracking_uri)
    is_champion = current is None or metrics["macro_f1"] > current
    if is_champion:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, mv.version)
    log.info("registered %s v%s (macro F1 %.4f); champion: %s", MODEL_NAME, mv.version, metrics["macro_f1"],
             is_champion)
    return str(mv.version), is_champion


def load_champion_ner(tracking_uri: str, dst_dir: Path | None = None) -> Language:
    """The spaCy pipeline registered as models:/lodestar-ner@champion."""
    import mlflow

    dst = Path(dst_dir) if dst_dir else Path(tempfile.mkdtemp(prefix="lodestar-ner-"))
    with fluent_store(tracking_uri):  # a models:/ URI resolves through the registry URI
        path = mlflow.artifacts.download_artifacts(f"models:/{MODEL_NAME}@{CHAMPION}", dst_path=str(dst))
    return load_pipeline(Path(path))


def register_pipeline(pipeline_dir: Path, tracking_uri: str) -> tuple[str, bool]:
    """Register an already-trained pipeline directory (its metrics.json) — e.g. a long run done offline."""
    data = json.loads((Path(pipeline_dir) / "metrics.json").read_text(encoding="utf-8"))
    hp = json.loads((Path(pipeline_dir) / "lodestar_char_ner" / "hp.json").read_text(encoding="utf-8"))
    return log_to_mlflow(Path(pipeline_dir), data, hp, tracking_uri)
