"""Industry intelligence in the asset graph: the NER champion, inbox extraction (run per new document by a
sensor), meeting-note sentiment, complaint hot words and heat, and the stakeholder influence graph.

Each asset calls one function of nlp.intel; everything lands in raw.intel_* for dbt to model.
"""

from pathlib import Path

import dagster as dg

from nlp import tables
from orchestration.lib.assets import md_table, raw_key, table_asset, table_preview
from orchestration.lib.resources import WAREHOUSE_POOL, IntelResource, WarehouseResource

OWNERS = ["team:data-science"]
GROUP = "intel"
NER_MODEL = dg.AssetKey(["intel", "ner_model"])
# The dbt models each asset reads (nlp.intel names them); raw.intel_* are the assets' own outputs.
CUSTOMER_DEPS = [dg.AssetKey(list(tables.CUSTOMER_DIRECTORY))]
NOTES_DEPS = [dg.AssetKey(list(tables.MEETING_NOTES))]
COMPLAINT_DEPS = [dg.AssetKey(list(tables.COMPLAINTS))]
INFLUENCE_DEPS = [dg.AssetKey(list(r)) for r in (tables.VISITS, tables.CONTACTS, tables.MEETING_NOTES)]
DOC_KINDS = {"duckdb", "tesseract", "spacy"}
DOC_KEYS = {t: raw_key(t) for t in ("intel_documents", "intel_pages", "intel_facts", "intel_rejects")}


def _table_spec(table: str, kinds: set[str], description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    """The spec of one raw.<table> output of a multi-asset, its column schema from nlp.tables."""
    return dg.AssetSpec(raw_key(table), group_name=GROUP, kinds=kinds, owners=OWNERS, description=description,
                        deps=deps, metadata=_table_meta(table))


def _schema(table: str) -> dg.TableSchema:
    sql = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "ts": "TIMESTAMP"}
    return dg.TableSchema(columns=[dg.TableColumn(c, sql[t]) for c, t in tables.TYPES[table].items()])


def _table_meta(table: str) -> dict:
    return {"dagster/table_name": f"raw.{table}", "dagster/column_schema": _schema(table)}


def _preview(wh, table: str) -> dg.MetadataValue:
    return table_preview(wh, "raw", table, clip=("text", "sentence"))


@dg.asset(
    key=NER_MODEL,
    group_name=GROUP,
    kinds={"mlflow", "spacy"},
    owners=OWNERS,
    description="The `lodestar-ner@champion` model in MLflow. Keeps an existing champion; otherwise registers the "
    "shipped pipeline (nlp/models/lodestar_ner), or trains a tiny stand-in when none is shipped. The `train_ner` "
    "job trains a full challenger.",
)
def ner_model(context: dg.AssetExecutionContext, intel_config: IntelResource) -> dg.MaterializeResult:
    from nlp import intel

    info = intel.ensure_ner_champion(intel_config.uri, Path(intel_config.shipped_ner_dir),
                                     intel_config.work / "ner_fallback")
    context.log.info(f"lodestar-ner@champion = v{info['version']} ({info['source']}): {info['note']}")
    return dg.MaterializeResult(metadata={
        "model": "models:/lodestar-ner@champion", "version": info["version"], "source": info["source"],
        "note": info["note"], "mlflow_run_id": info["run_id"],
        "test_macro_f1": float(info["test_macro_f1"]) if info["test_macro_f1"] is not None else float("nan"),
    })


class InboxConfig(dg.Config):
    paths: list[str] = []  # files to process (the sensor passes one); empty = every file in the inbox


@dg.multi_asset(
    name="extract_documents",
    specs=[
        _table_spec("intel_documents", DOC_KINDS, "One row per accepted inbox document (doc_id = sha256).",
                    [NER_MODEL, *CUSTOMER_DEPS]),
        _table_spec("intel_pages", DOC_KINDS, "Text of every page, with the path (text layer or OCR).",
                    [NER_MODEL, *CUSTOMER_DEPS]),
        _table_spec("intel_facts", DOC_KINDS, "Facts (document, page, span, type, value, unit, confidence) with the "
                    "customer they link to.", [NER_MODEL, *CUSTOMER_DEPS]),
        _table_spec("intel_rejects", DOC_KINDS, "Inbox files that could not be processed, with the reason.",
                    [NER_MODEL, *CUSTOMER_DEPS]),
    ],
    pool=WAREHOUSE_POOL,
    description="OCR/text-layer extraction, NER, fact typing and customer linking of inbox documents not seen before.",
)
def extract_documents(context: dg.AssetExecutionContext, config: InboxConfig, warehouse: WarehouseResource,
                      intel_config: IntelResource):
    from nlp import intel
    from nlp.training import load_champion_ner

    wh = warehouse.get()
    inbox = intel_config.inbox_dir
    paths = [Path(p) for p in config.paths] or intel.inbox_files(inbox)
    ner = load_champion_ner(intel_config.uri, intel_config.work / "ner_champion")
    res = intel.extract_documents(wh, paths, ner, inbox, truth_jsonl=intel_config.truth("documents.jsonl"))
    context.log.info(f"{res.documents} documents, {res.facts} facts ({res.linked_facts} linked), {res.rejects} "
                     f"rejected, {res.skipped} already processed")
    for name, reason in res.rejected.items():
        context.log.warning(f"rejected {name}: {reason}")
    counts = {t: wh.row_count("raw", t) for t in DOC_KEYS}
    scored = {}
    if res.truth_scores is not None:  # the demo company: facts scored against the planted ones
        overall = res.truth_scores["overall"]
        scored = {"truth_precision": round(overall["precision"], 4), "truth_recall": round(overall["recall"], 4),
                  "truth_scores": dg.MetadataValue.json(
                      {k: {m: round(v, 4) for m, v in d.items()} for k, d in res.truth_scores.items()})}
        context.log.info(f"document facts against truth: precision {overall['precision']:.3f}, "
                         f"recall {overall['recall']:.3f} ({overall['matched']:.0f} of {overall['planted']:.0f})")
    extra = {
        "intel_documents": {"processed_this_run": res.documents, "skipped_known_hash": res.skipped,
                            "files": dg.MetadataValue.json(res.files)},
        "intel_pages": {"pages_this_run": res.pages},
        "intel_facts": {"facts_this_run": res.facts, "linked_facts_this_run": res.linked_facts,
                        "linked_customers": dg.MetadataValue.json(res.linked_customers), **scored},
        "intel_rejects": {"rejected_this_run": res.rejects, "reasons": dg.MetadataValue.json(res.rejected)},
    }
    for table, key in DOC_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={
            "dagster/row_count": counts[table], **extra[table], "preview": _preview(wh, table)})


@table_asset(
    raw_key("intel_note_sentiment"),
    group=GROUP,
    owners=OWNERS,
    kinds={"duckdb", "jieba"},
    deps=NOTES_DEPS,
    metadata={"dagster/column_schema": _schema("intel_note_sentiment")},
    description="Sentiment (lexicon + negation + degree words) of every CRM meeting note; accuracy against the "
    "demo's truth/meeting_notes.csv when present.",
)
def intel_note_sentiment(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         intel_config: IntelResource) -> dg.MaterializeResult:
    from nlp import intel

    wh = warehouse.get()
    res = intel.score_meeting_notes(wh, intel_config.truth("meeting_notes.csv"))
    meta = {"dagster/row_count": res.rows, "labels": dg.MetadataValue.json(res.label_counts),
            "preview": _preview(wh, "intel_note_sentiment")}
    if res.accuracy:
        meta["truth_accuracy"] = round(res.accuracy["accuracy"], 4)
        meta["truth_scores"] = dg.MetadataValue.json({k: round(v, 4) for k, v in res.accuracy.items()})
        context.log.info(f"sentiment accuracy against truth: {res.accuracy['accuracy']:.3f} (n={res.accuracy['n']:.0f})")
    return dg.MaterializeResult(metadata=meta)


@dg.multi_asset(
    name="complaint_signals",
    specs=[
        _table_spec("intel_complaint_hotwords", {"duckdb", "scikitlearn"}, "Top complaint terms per competitor per "
                    "week (TF-IDF heat, week-over-week change); competitor 'none' = no competitor named.",
                    COMPLAINT_DEPS),
        _table_spec("intel_complaint_heat", {"duckdb", "scikitlearn"}, "Weekly complaint heat per customer "
                    "(complaints + negative ones + ones naming a competitor), customer linked from the complaint's "
                    "alias.", [*COMPLAINT_DEPS, *CUSTOMER_DEPS]),
    ],
    pool=WAREHOUSE_POOL,
    description="Complaint hot words per competitor per week and complaint heat per customer per week.",
)
def complaint_signals(context: dg.AssetExecutionContext, warehouse: WarehouseResource, intel_config: IntelResource):
    from nlp import intel

    wh = warehouse.get()
    res = intel.complaint_signals(wh, truth_csv=intel_config.truth("complaints.csv"))
    context.log.info(f"{res.complaints} complaints, {res.linked} linked to a customer")
    yield dg.MaterializeResult(asset_key=raw_key("intel_complaint_hotwords"), metadata={
        "dagster/row_count": res.hotword_rows, "competitors": dg.MetadataValue.json(res.competitors),
        "topics": md_table(res.clusters),
        "preview": _preview(wh, "intel_complaint_hotwords")})
    heat_meta = {"dagster/row_count": res.heat_rows, "complaints": res.complaints, "linked_complaints": res.linked,
                 "preview": _preview(wh, "intel_complaint_heat")}
    if res.link_accuracy is not None:
        heat_meta["truth_link_accuracy"] = res.link_accuracy
    yield dg.MaterializeResult(asset_key=raw_key("intel_complaint_heat"), metadata=heat_meta)


@dg.multi_asset(
    name="influence_graph",
    specs=[
        _table_spec("intel_influence_edges", {"duckdb", "networkx"}, "Stakeholder ties per account: co-attended "
                    "visits and co-mentions in meeting notes (weight = co_visits + 0.5 x co_mentions).",
                    INFLUENCE_DEPS),
        _table_spec("intel_influence_nodes", {"duckdb", "networkx"}, "Stakeholder centrality within the account "
                    "(degree, PageRank, betweenness).", INFLUENCE_DEPS),
    ],
    pool=WAREHOUSE_POOL,
    description="The stakeholder influence graph from CRM visits and meeting notes.",
)
def influence_graph(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from nlp import intel

    wh = warehouse.get()
    res = intel.influence_edges(wh)
    context.log.info(f"{res.edges} edges among {res.nodes} stakeholders of {res.accounts} accounts")
    yield dg.MaterializeResult(asset_key=raw_key("intel_influence_edges"), metadata={
        "dagster/row_count": res.edges, "accounts": res.accounts, "preview": _preview(wh, "intel_influence_edges")})
    yield dg.MaterializeResult(asset_key=raw_key("intel_influence_nodes"), metadata={
        "dagster/row_count": res.nodes,
        "most_central": md_table(res.top)})


# --- the inbox sensor: one run per new document, keyed by its sha256 --------------------------------------------
extract_job = dg.define_asset_job(
    "intel_extract", selection=dg.AssetSelection.assets(extract_documents),
    description="Extract the inbox files named in the run config (the inbox sensor starts one run per new file).",
)


@dg.sensor(job=extract_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Watches the document inbox; each file gets an extraction run keyed by its sha256, and Dagster "
                       "launches a run key only once, so re-dropping the same bytes under any name does nothing.")
def intel_inbox_sensor(context: dg.SensorEvaluationContext, intel_config: IntelResource):
    from nlp import intel

    for path in intel.inbox_files(intel_config.inbox_dir):
        digest = intel.file_hash(path)
        yield dg.RunRequest(
            run_key=digest or f"unreadable:{path.name}",
            run_config={"ops": {"extract_documents": {"config": {"paths": [str(path)]}}}},
            tags={"lodestar/document": path.name[:200], "lodestar/sha256": digest or ""},
        )


# --- full NER training, kept out of the main job ------------------------------------------------------------
class TrainNerConfig(dg.Config):
    max_seconds: float = 3600.0  # wall-clock budget of the training loop
    max_steps: int | None = None
    sample_size: int | None = None  # cap on training sentences (None = all of CLUENER's train split)
    seed: int = 0


@dg.op(description="Train lodestar-ner on CLUENER within the budget; it becomes champion only if it beats the "
                   "champion's held-out macro F1.")
def train_ner_op(context: dg.OpExecutionContext, config: TrainNerConfig, intel_config: IntelResource) -> None:
    from nlp.training import train_ner

    out = intel_config.work / "ner_runs" / context.run_id
    m = train_ner(out, max_seconds=config.max_seconds, max_steps=config.max_steps, sample_size=config.sample_size,
                  seed=config.seed, tracking_uri=intel_config.uri)
    context.log.info(f"macro F1 {m['macro_f1']:.4f}; version {m['model_version']}; champion: {m['champion']}")
    context.log_event(dg.AssetObservation(asset_key=NER_MODEL, metadata={
        "trained_version": str(m["model_version"]), "test_macro_f1": float(m["macro_f1"]),
        "became_champion": bool(m["champion"]), "train_seconds": float(m["train_seconds"])}))


@dg.job(name="train_ner", description="Full NER training run (budget in run config); not part of `main`.",
        tags={"lodestar/heavy": "true"})
def train_ner_job():
    train_ner_op()


defs = dg.Definitions(
    assets=[ner_model, extract_documents, intel_note_sentiment, complaint_signals, influence_graph],
    jobs=[extract_job, train_ner_job],
    sensors=[intel_inbox_sensor],
)
