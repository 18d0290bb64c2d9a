"""Chinese NER for the intelligence extractor: a char BiLSTM-CRF trained on CLUENER, wrapped as a spaCy component.

One module per concern: ``data`` (CLUENER, the split), ``features`` (vocabulary, bigrams, lexicon flags, tags),
``model`` (the torch tagger and ensemble), ``metrics``, ``train`` (the training loop) and ``component`` (spaCy).
Importing the package registers the spaCy factory, so a saved pipeline loads after ``import nlp.ner``.
"""

from __future__ import annotations

from nlp.ner.component import CharNER, blank_zh, build_pipeline, load_pipeline, make_char_ner
from nlp.ner.data import (
    CLUENER_LABELS,
    DEV_FRACTION,
    SPLIT_SEED,
    TEST_FRACTION,
    Example,
    load_cluener,
    split_examples,
)
from nlp.ner.features import (
    N_LEX,
    Vocab,
    char_bigrams,
    encode_ids,
    encode_text,
    jieba_lexicon,
    lexicon_features,
    spans_to_tags,
    tags_to_spans,
)
from nlp.ner.metrics import score_spans
from nlp.ner.model import CharTagger, EnsembleTagger, batch_tensors, load_tagger, predict_spans, viterbi
from nlp.ner.train import DEFAULT_HP, lr_factor, train_tagger

__all__ = [
    "CLUENER_LABELS", "DEFAULT_HP", "DEV_FRACTION", "N_LEX", "SPLIT_SEED", "TEST_FRACTION",
    "CharNER", "CharTagger", "EnsembleTagger", "Example", "Vocab",
    "batch_tensors", "blank_zh", "build_pipeline", "char_bigrams", "encode_ids", "encode_text", "jieba_lexicon",
    "lexicon_features", "load_cluener", "load_pipeline", "load_tagger", "lr_factor", "make_char_ner",
    "predict_spans", "score_spans", "spans_to_tags", "split_examples", "tags_to_spans", "train_tagger", "viterbi",
]
