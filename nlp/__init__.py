"""Industry intelligence: OCR and Chinese NLP that turn inbox documents, notes and complaints into signals.

Entry points for orchestration: ``process_documents`` (inbox batch -> raw.intel_* DataFrames), ``train_ner`` /
``load_champion_ner`` (CLUENER NER tracked in MLflow), ``score_sentiment``, ``complaint_hot_words``,
``influence_graph`` and ``link_organisations``. Heavy modules are imported on first use.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "process_documents": "nlp.documents", "IntelBatch": "nlp.documents",
    "train_ner": "nlp.training", "ensemble_ner": "nlp.training", "load_champion_ner": "nlp.training",
    "load_pipeline": "nlp.ner", "build_pipeline": "nlp.ner",
    "extract_facts": "nlp.facts", "classify_sentence": "nlp.facts",
    "link_organisations": "nlp.linking",
    "score_sentiment": "nlp.sentiment", "sentiment_accuracy": "nlp.sentiment",
    "complaint_hot_words": "nlp.signals", "influence_graph": "nlp.signals",
    "ocr_image": "nlp.ocr",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nlp' has no attribute {name!r}")
