"""The intelligence library's warehouse side: read inputs from dbt's staged CRM/ERP models, run the nlp functions,
and land the results as raw.intel_* tables (one call per table family, idempotent on re-runs)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lodestar.files import sha256_file
from lodestar.tracking import mlflow_client
from lodestar.warehouse import Warehouse
from nlp.documents import process_documents
from nlp.fact_scoring import score_document_facts
from nlp.linking import customer_gazetteer, find_customer_mentions, link_organisations
from nlp.sentiment import score_sentiment, sentiment_accuracy
from nlp.signals import complaint_hot_words, find_competitor, influence_graph

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

RAW = "raw"
NO_COMPETITOR = "none"  # complaints that name no competitor still have hot words; they are grouped under this
REJECT_KINDS = (  # reason fragment -> kind, first match wins (raw.<source>_rejects carry a `kind` word)
    ("path traversal", "unsafe_path"), ("symbolic link", "unsafe_path"), ("outside the inbox", "unsafe_path"),
    ("control characters", "unsafe_path"), ("hidden or option-like", "unsafe_path"),
    ("does not exist", "missing"), ("not a regular file", "missing"), ("too large", "too_large"),
    ("empty file", "empty"), ("unsupported format", "unsupported_format"), ("not a valid", "bad_header"),
    ("corrupt", "corrupt"), ("unreadable", "corrupt"), ("no pages", "corrupt"), ("too small", "too_small"),
    ("no text", "no_text"), ("not a Chinese", "not_chinese"), ("processing error", "processing_error"),
)
from nlp.tables import (  # noqa: E402  (re-exported: gen_sources.py reads TYPES here)
    COMPLAINTS,
    CONTACTS,
    CUSTOMER_DIRECTORY,
    MEETING_NOTES,
    TYPES,
    VISITS,
)


def typed(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """The frame in the table's declared column order and types, so an all-null column still lands typed."""
    spec = TYPES[table]
    missing = set(spec) - set(df.columns)
    if missing:
        raise ValueError(f"{table}: frame lacks column(s) {sorted(missing)}")
    out = pd.DataFrame(index=df.index)
    for col, t in spec.items():
        s = df[col]
        if t == "string":
            out[col] = s.astype("string")
        elif t == "int":
            out[col] = pd.to_numeric(s, errors="raise").astype("Int64")
        elif t == "float":
            out[col] = pd.to_numeric(s, errors="raise").astype("float64")
        elif t == "date":
            out[col] = pd.to_datetime(s).dt.date
        else:
            ts = pd.to_datetime(s, utc=True)
            out[col] = ts.dt.tz_localize(None)  # naive UTC: DuckDB TIMESTAMP, as the connectors land it
    return out.reset_index(drop=True)


def _require_relation(wh: Warehouse, schema: str, table: str, built_by: str) -> None:
    if not wh.table_exists(schema, table):
        raise LookupError(f"{schema}.{table} is missing in {wh.path}: {built_by} must run first")


def read_model(wh: Warehouse, relation: tuple[str, str], columns: str, order_by: str) -> pd.DataFrame:
    """Columns of a dbt model (staging or intermediate): dbt owns the cleaning rules ("latest load wins", rejects
    excluded), so the intel assets read its models, never a connector's raw table."""
    _require_relation(wh, *relation, f"dbt ({'/'.join(relation)})")
    return wh.query(f"select {columns} from {relation[0]}.{relation[1]} order by {order_by}")




# --- customers ------------------------------------------------------------------------------------------------
def customer_directory(wh: Warehouse) -> pd.DataFrame:
    """Every ERP customer with the names other systems use for it: columns id, name, aliases (;-joined), city
    (dbt's intermediate.int_customer_directory)."""
    return read_model(wh, CUSTOMER_DIRECTORY, "id, name, city, aliases", "id")


# --- documents ------------------------------------------------------------------------------------------------
@dataclass
class ExtractionResult:
    documents: int
    pages: int
    facts: int
    linked_facts: int
    rejects: int
    skipped: int
    files: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> reason
    linked_customers: list[str] = field(default_factory=list)
    # against a truth file of planted facts, when given: kind (and "overall") -> precision, recall, counts
    truth_scores: dict[str, dict[str, float]] | None = None


def inbox_files(inbox: Path) -> list[Path]:
    """Every entry of the inbox folder that could be a document (hidden files included: they get a reject)."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() or p.is_symlink())


def known_document_hashes(wh: Warehouse) -> set[str]:
    """sha256 of every document already accepted or rejected: a re-drop of the same bytes is skipped."""
    hashes: set[str] = set()
    for table in ("intel_documents", "intel_rejects"):
        if wh.table_exists(RAW, table):
            hashes |= set(wh.query(f"select distinct doc_id from raw.{table} where doc_id is not null")["doc_id"])
    return hashes


def file_hash(path: Path) -> str | None:
    """sha256 of a file, None when it cannot be read (the extraction run then records the reject)."""
    try:
        return sha256_file(Path(path)) if Path(path).is_file() else None
    except OSError:
        return None


def reject_kind(reason: str) -> str:
    return next((kind for frag, kind in REJECT_KINDS if frag in reason), "other")


def extract_documents(wh: Warehouse, paths: Iterable[Path], ner: Language, inbox: Path,
                      customers: pd.DataFrame | None = None, truth_jsonl: Path | None = None) -> ExtractionResult:
    """Process inbox files not seen before into raw.intel_documents / intel_pages / intel_facts / intel_rejects.
    Rows are keyed by doc_id (sha256) and rejects by source_path, so re-running the same files changes nothing.
    customers defaults to customer_directory(wh). With truth_jsonl (the demo's truth/documents.jsonl) every fact in
    the warehouse is scored against the planted ones (nlp.fact_scoring)."""
    paths = [Path(p) for p in paths]
    if customers is None:
        customers = customer_directory(wh)
    batch = process_documents(paths, ner, customers, known_hashes=known_document_hashes(wh), inbox=Path(inbox))
    rejects = batch.rejects.copy()
    rejects["feed"] = "documents"
    rejects["kind"] = rejects["reason"].map(reject_kind)
    rejects["payload"] = rejects["source_path"]
    rejects["_source_file"] = rejects["file_name"]
    rejects["_source_row"] = 0  # the whole file is the rejected unit
    doc_ids = batch.documents["doc_id"].tolist()
    if doc_ids:
        marks = ",".join("?" * len(doc_ids))
        for table, df in (("intel_documents", batch.documents), ("intel_pages", batch.pages),
                          ("intel_facts", batch.facts)):
            wh.replace_rows(RAW, table, typed(df, table), f"doc_id in ({marks})", doc_ids)
    # a file that is now accepted or rejected again replaces its earlier reject; nothing else is touched
    touched = sorted({*batch.documents["source_path"], *rejects["source_path"]})
    if touched and (len(rejects) or wh.table_exists(RAW, "intel_rejects")):
        marks = ",".join("?" * len(touched))
        wh.replace_rows(RAW, "intel_rejects", typed(rejects, "intel_rejects"), f"source_path in ({marks})", touched)
    facts = batch.facts
    linked = facts["linked_customer_id"].dropna() if len(facts) else pd.Series(dtype=str)
    return ExtractionResult(
        documents=len(batch.documents), pages=len(batch.pages), facts=len(facts), linked_facts=len(linked),
        rejects=len(rejects), skipped=len(batch.skipped), files=batch.documents["file_name"].tolist(),
        rejected=dict(zip(rejects["file_name"], rejects["reason"], strict=True)),
        linked_customers=sorted(set(linked)),
        truth_scores=score_document_facts(wh, Path(truth_jsonl)) if truth_jsonl is not None else None,
    )


# --- meeting-note sentiment -----------------------------------------------------------------------------------
@dataclass
class SentimentResult:
    rows: int
    label_counts: dict[str, int]
    accuracy: dict[str, float] | None  # against truth when a truth file is given


def score_meeting_notes(wh: Warehouse, truth_csv: Path | None = None) -> SentimentResult:
    """Score every CRM meeting note (dbt's staging.stg_crm__meeting_notes) into raw.intel_note_sentiment (replaced
    whole). With truth_csv (note_id, sentiment) the labels are scored against it."""
    notes = read_model(wh, MEETING_NOTES, "note_id, account_id, note_date, note_text", "note_id")
    scored = score_sentiment(notes["note_text"].fillna("").tolist())
    out = notes[["note_id", "account_id", "note_date"]].assign(
        sentiment=scored["label"].values, score=scored["score"].values, _loaded_at=pd.Timestamp.now(tz="UTC"))
    wh.replace_table(RAW, "intel_note_sentiment", typed(out, "intel_note_sentiment"))
    accuracy = None
    if truth_csv is not None and Path(truth_csv).exists():
        truth = pd.read_csv(truth_csv, dtype=str)
        if not {"note_id", "sentiment"} <= set(truth.columns):
            raise ValueError(f"{truth_csv}: needs columns note_id and sentiment, has {list(truth.columns)}")
        both = out.merge(truth[["note_id", "sentiment"]], on="note_id", suffixes=("", "_true"))
        if len(both):
            accuracy = sentiment_accuracy(both["sentiment"].tolist(), both["sentiment_true"].tolist())
    return SentimentResult(rows=len(out), label_counts=out["sentiment"].value_counts().to_dict(), accuracy=accuracy)


# --- complaints -----------------------------------------------------------------------------------------------
@dataclass
class ComplaintResult:
    hotword_rows: int
    heat_rows: int
    complaints: int
    linked: int
    competitors: dict[str, int]
    clusters: pd.DataFrame
    link_accuracy: float | None = None  # share of truth complaints linked to the right customer


def link_aliases(aliases: Iterable[str], customers: pd.DataFrame, threshold: float = 85.0) -> dict[str, str]:
    """Free-text customer alias -> customer id: an exact gazetteer name inside the alias first, else fuzzy."""
    gaz = customer_gazetteer(customers)
    out: dict[str, str] = {}
    rest = []
    for alias in dict.fromkeys(a for a in aliases if isinstance(a, str) and a.strip()):
        hits = {m[3] for m in find_customer_mentions(alias, gaz)}
        if len(hits) == 1:
            out[alias] = hits.pop()
        else:
            rest.append(alias)
    if rest:
        fuzzy = link_organisations(rest, customers, threshold)
        out.update(dict(zip(fuzzy["org"], fuzzy["customer_id"], strict=True)))
    return out


def complaint_signals(wh: Warehouse, customers: pd.DataFrame | None = None, truth_csv: Path | None = None,
                      *, n_clusters: int = 6, top_terms: int = 20) -> ComplaintResult:
    """Hot words per competitor per week into raw.intel_complaint_hotwords and a weekly complaint heat per
    customer into raw.intel_complaint_heat (both replaced whole). heat = complaints + negative complaints +
    complaints naming a competitor: a negative complaint or one naming a competitor counts twice, both three times."""
    df = read_model(wh, COMPLAINTS, "complaint_id, received_at, customer_alias, complaint_text", "complaint_id")
    now = pd.Timestamp.now(tz="UTC")
    df["competitor"] = df["complaint_text"].map(find_competitor)
    df["text"] = df["complaint_text"].fillna("")
    df["date"] = pd.to_datetime(df["received_at"])
    if len(df):
        hot = complaint_hot_words(df.assign(competitor=df["competitor"].fillna(NO_COMPETITOR))[
            ["competitor", "date", "text"]], n_clusters=n_clusters, top_terms=top_terms)
        terms, clusters = hot.terms, hot.clusters
    else:
        terms = pd.DataFrame(columns=["competitor", "week", "term", "count", "prev_count", "wow_change", "heat"])
        clusters = pd.DataFrame(columns=["cluster", "label", "size", "top_terms"])
    hotwords = terms.rename(columns={"week": "week_start", "count": "term_count"}).assign(_loaded_at=now)
    wh.replace_table(RAW, "intel_complaint_hotwords", typed(hotwords, "intel_complaint_hotwords"))

    if customers is None:
        customers = customer_directory(wh)
    links = link_aliases(df["customer_alias"].tolist(), customers)
    df["customer_id"] = df["customer_alias"].map(links)
    df["negative"] = (score_sentiment(df["text"].tolist())["label"] == "negative").values if len(df) else []
    df["week_start"] = (df["date"] - pd.to_timedelta(df["date"].dt.weekday, unit="D")).dt.normalize()
    linked = df.dropna(subset=["customer_id"])
    heat = (linked.assign(complaints=1, negative_complaints=linked["negative"].astype(int),
                          competitor_mentions=linked["competitor"].notna().astype(int))
            .groupby(["customer_id", "week_start"], as_index=False)[
                ["complaints", "negative_complaints", "competitor_mentions"]].sum())
    heat["heat"] = heat["complaints"] + heat["negative_complaints"] + heat["competitor_mentions"]
    wh.replace_table(RAW, "intel_complaint_heat", typed(heat.assign(_loaded_at=now), "intel_complaint_heat"))

    link_acc = None
    if truth_csv is not None and Path(truth_csv).exists():
        truth = pd.read_csv(truth_csv, dtype=str)
        both = df.merge(truth[["complaint_id", "customer_id"]], on="complaint_id", suffixes=("", "_true"))
        if len(both):
            link_acc = round(float((both["customer_id"] == both["customer_id_true"]).mean()), 4)
    return ComplaintResult(hotword_rows=len(hotwords), heat_rows=len(heat), complaints=len(df), linked=len(linked),
                           competitors=df["competitor"].value_counts().to_dict(), clusters=clusters,
                           link_accuracy=link_acc)


# --- influence graph ------------------------------------------------------------------------------------------
@dataclass
class InfluenceResult:
    edges: int
    nodes: int
    accounts: int
    top: pd.DataFrame  # the most central stakeholders


def _mentions(notes: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """(note_id, stakeholder_id) for each contact of the note's account named in it: by full name, or by the
    title followed by surname + 先生/女士 ("采购总监陈女士")."""
    rows = []
    by_account = {a: g for a, g in contacts.groupby("account_id")}
    for note in notes.itertuples(index=False):
        text = str(note.note_text or "")
        for c in by_account.get(note.account_id, pd.DataFrame()).itertuples(index=False):
            name, title = str(c.contact_name or ""), str(c.title or "")
            polite = bool(name) and re.search(re.escape(title) + re.escape(name[0]) + "(?:先生|女士|总|经理)", text)
            if (len(name) >= 2 and name in text) or (title and polite):
                rows.append({"note_id": note.note_id, "stakeholder_id": c.contact_id})
    return pd.DataFrame(rows, columns=["note_id", "stakeholder_id"])


def influence_edges(wh: Warehouse, *, mention_weight: float = 0.5) -> InfluenceResult:
    """Stakeholder graph per CRM account from visit co-attendance and meeting-note co-mentions into
    raw.intel_influence_edges and raw.intel_influence_nodes (PageRank/betweenness within the account)."""
    visits = read_model(wh, VISITS, "visit_id, account_id, attendee_contact_ids", "visit_id")
    contacts = read_model(wh, CONTACTS, "contact_id, account_id, contact_name, title", "contact_id")
    notes = read_model(wh, MEETING_NOTES, "note_id, account_id, note_text", "note_id")
    attendees = (visits.assign(stakeholder_id=visits["attendee_contact_ids"].fillna("").str.split(";"))
                 .explode("stakeholder_id"))
    attendees["stakeholder_id"] = attendees["stakeholder_id"].str.strip()
    attendees = attendees[attendees["stakeholder_id"].fillna("") != ""]
    mentions = _mentions(notes, contacts).merge(notes[["note_id", "account_id"]], on="note_id")
    edge_frames, node_frames = [], []
    for account, grp in attendees.groupby("account_id"):
        g = influence_graph(grp[["visit_id", "stakeholder_id"]],
                            mentions.loc[mentions["account_id"] == account, ["note_id", "stakeholder_id"]],
                            mention_weight=mention_weight)
        edge_frames.append(g.edges.assign(account_id=account))
        node_frames.append(g.nodes.assign(account_id=account))
    now = pd.Timestamp.now(tz="UTC")
    edges = (pd.concat(edge_frames, ignore_index=True) if edge_frames else
             pd.DataFrame(columns=["source", "target", "weight", "co_visits", "co_mentions", "account_id"]))
    edges = edges.rename(columns={"source": "source_contact_id", "target": "target_contact_id"}).assign(_loaded_at=now)
    nodes = (pd.concat(node_frames, ignore_index=True) if node_frames else
             pd.DataFrame(columns=["stakeholder_id", "degree", "weighted_degree", "pagerank", "betweenness",
                                   "account_id"]))
    nodes = nodes.rename(columns={"stakeholder_id": "contact_id"}).assign(_loaded_at=now)
    wh.replace_table(RAW, "intel_influence_edges", typed(edges, "intel_influence_edges"))
    wh.replace_table(RAW, "intel_influence_nodes", typed(nodes, "intel_influence_nodes"))
    top = nodes.sort_values(["betweenness", "pagerank"], ascending=False).head(10)[
        ["account_id", "contact_id", "degree", "pagerank", "betweenness"]]
    return InfluenceResult(edges=len(edges), nodes=len(nodes), accounts=len(node_frames), top=top)


# --- NER model ------------------------------------------------------------------------------------------------
def ensure_ner_champion(tracking_uri: str, shipped_dir: Path, work_dir: Path, *, fallback_steps: int = 40,
                        fallback_sample: int = 300, seed: int = 0) -> dict[str, Any]:
    """Make sure models:/lodestar-ner@champion exists. Keeps an existing champion; else registers the shipped
    pipeline (shipped_dir, with metrics.json); else trains a tiny-budget model so the graph can run, and says so.
    Returns {"source": "existing"|"shipped"|"fallback_tiny_training", "version", "run_id", "test_macro_f1",
    "note"}."""
    from mlflow.exceptions import MlflowException

    from nlp.training import CHAMPION, MODEL_NAME, register_pipeline, train_ner

    client = mlflow_client(tracking_uri)

    def champion() -> Any:
        try:
            return client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
        except MlflowException:
            return None

    mv, source, note = champion(), "existing", "champion already registered"
    if mv is None:
        shipped_dir = Path(shipped_dir)
        if (shipped_dir / "config.cfg").exists() and (shipped_dir / "metrics.json").exists():
            register_pipeline(shipped_dir, tracking_uri)
            source, note = "shipped", f"registered the shipped pipeline {shipped_dir}"
        else:
            train_ner(Path(work_dir), max_steps=fallback_steps, sample_size=fallback_sample, seed=seed,
                      hp={"pretrain_epochs": 0}, tracking_uri=tracking_uri, eval_every=fallback_steps)
            source = "fallback_tiny_training"
            note = (f"no shipped pipeline at {shipped_dir}: trained a tiny-budget model ({fallback_steps} steps on "
                    f"{fallback_sample} sentences) as a stand-in; run the train_ner job for a real one")
        mv = champion()
        if mv is None:
            raise RuntimeError(f"{MODEL_NAME}@{CHAMPION} still missing after registering ({source})")
    f1 = client.get_run(mv.run_id).data.metrics.get("test_macro_f1")
    return {"source": source, "version": str(mv.version), "run_id": mv.run_id, "test_macro_f1": f1, "note": note}
