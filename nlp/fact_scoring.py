"""Scores the document facts in the warehouse against a truth file of planted facts (the demo company's
``truth/documents.jsonl``): per fact kind and overall, precision and recall of what extraction found.

A planted fact is a (document, kind, text) triple; kinds are the policy names, standards, amounts and deadlines
the generator writes into each document, plus the customers it names (scored by linked customer id, not text).
Extraction's counterpart is a row of ``raw.intel_facts`` with the matching entity label, its text taken from the
page it was found on. Texts are compared after NFKC normalisation with white space and the 《》 of policy titles
removed, so OCR line-wrapping or full-width digits do not count as misses. A deadline's span carries its cue
words by design (``于2027年3月31日前``), so a deadline matches when it contains the planted date.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pandas as pd

from lodestar.warehouse import Warehouse

CONTAINS = {"deadlines"}  # kinds whose extracted span may wrap the planted text in cue words

# truth key -> the entity labels of raw.intel_facts that report that kind
KINDS: dict[str, tuple[str, ...]] = {
    "policy_names": ("POLICY",),
    "standards": ("STANDARD",),
    "amounts": ("MONEY",),
    "deadlines": ("DEADLINE",),
}


def normalise(text: str) -> str:
    """The comparable form of a fact's text."""
    return re.sub(r"[\s《》]", "", unicodedata.normalize("NFKC", str(text)))


def load_truth(path: Path) -> pd.DataFrame:
    """Planted facts: one row per (file_name, kind, key); key is the normalised text or the customer id."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            files, facts = doc["files"], doc["facts"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {n}: not a document record with files and facts ({exc})") from None
        for file_name in files:
            for kind in KINDS:
                rows += [{"file_name": file_name, "kind": kind, "key": normalise(v)} for v in facts.get(kind, [])]
            rows += [{"file_name": file_name, "kind": "customers", "key": c["customer_id"]}
                     for c in facts.get("customers", [])]
    return pd.DataFrame(rows, columns=["file_name", "kind", "key"]).drop_duplicates()


def extracted_facts(wh: Warehouse) -> pd.DataFrame:
    """What extraction found, in load_truth's shape: entity facts with their page text, and linked customers."""
    facts = wh.query(
        "select d.file_name, f.entity_label, f.linked_customer_id, "
        "substr(p.text, f.start + 1, f.\"end\" - f.start) as span "
        "from raw.intel_facts f join raw.intel_documents d using (doc_id) "
        "join raw.intel_pages p on p.doc_id = f.doc_id and p.page = f.page")
    label_kind = {label: kind for kind, labels in KINDS.items() for label in labels}
    ents = facts[facts["entity_label"].isin(list(label_kind))]
    rows = pd.DataFrame({"file_name": ents["file_name"], "kind": ents["entity_label"].map(label_kind),
                         "key": ents["span"].map(normalise)})
    linked = facts.dropna(subset=["linked_customer_id"])
    rows = pd.concat([rows, pd.DataFrame({"file_name": linked["file_name"], "kind": "customers",
                                          "key": linked["linked_customer_id"]})])
    return rows.drop_duplicates().reset_index(drop=True)


def score_document_facts(wh: Warehouse, truth_path: Path) -> dict[str, dict[str, float]]:
    """Precision, recall and counts per kind and ``overall``, over the documents of the truth file that are in
    the warehouse (a document extraction rejected counts as all its facts missed)."""
    truth = load_truth(truth_path)
    if not wh.table_exists("raw", "intel_facts"):
        raise ValueError("raw.intel_facts does not exist: run the extract_documents asset first")
    got = extracted_facts(wh)
    got = got[got["file_name"].isin(set(truth["file_name"]))].copy()
    for i, row in got[got["kind"].isin(list(CONTAINS))].iterrows():
        planted = truth[(truth["file_name"] == row["file_name"]) & (truth["kind"] == row["kind"])]["key"]
        inside = [k for k in planted if k in row["key"]]
        if inside:
            got.loc[i, "key"] = max(inside, key=len)
    got = got.drop_duplicates()
    both = truth.merge(got, on=["file_name", "kind", "key"])
    out: dict[str, dict[str, float]] = {}
    for kind in [*KINDS, "customers", "overall"]:
        t, g, b = (len(df) if kind == "overall" else int((df["kind"] == kind).sum()) for df in (truth, got, both))
        out[kind] = {"precision": b / g if g else 0.0, "recall": b / t if t else 0.0,
                     "planted": float(t), "extracted": float(g), "matched": float(b)}
    return out
