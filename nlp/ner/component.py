"""The NER as a spaCy component (factory ``lodestar_char_ner``, which a saved pipeline's config names) and
the pipelines built and loaded with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.ner.model import CharTagger, EnsembleTagger, load_tagger


@Language.factory("lodestar_char_ner", default_config={})
def make_char_ner(nlp: Language, name: str) -> CharNER:
    return CharNER(name)


class CharNER:
    """spaCy component: sets doc.ents from the char tagger (call `set_tagger` or load from disk)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tagger: CharTagger | EnsembleTagger | None = None

    def set_tagger(self, tagger: CharTagger | EnsembleTagger) -> None:
        self.tagger = tagger

    def __call__(self, doc: Doc) -> Doc:
        if self.tagger is None:
            raise RuntimeError("lodestar_char_ner has no trained model: load a pipeline from disk")
        spans = []
        for s, e, label in self.tagger.predict([doc.text])[0]:
            span = doc.char_span(s, e, label=label, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.ents = spacy.util.filter_spans(spans)
        return doc

    def to_disk(self, path: Path, exclude: Any = ()) -> None:
        if self.tagger is None:
            raise RuntimeError("cannot save lodestar_char_ner without a trained model")
        self.tagger.save(Path(path))

    def from_disk(self, path: Path, exclude: Any = ()) -> CharNER:
        self.tagger = load_tagger(Path(path))
        return self


def blank_zh() -> Language:
    """Offline Chinese pipeline with the char segmenter (entity offsets align with tokens exactly)."""
    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}})


def build_pipeline(tagger: CharTagger | EnsembleTagger | None) -> Language:
    """A spaCy pipeline: trained NER (if given) then the pattern rules for amounts, dates, policies."""
    from nlp.rules import add_rules

    nlp = blank_zh()
    if tagger is not None:
        nlp.add_pipe("lodestar_char_ner").set_tagger(tagger)
    add_rules(nlp)
    return nlp


def load_pipeline(path: Path) -> Language:
    """Load a pipeline saved by `train_ner` (the factories live in this package, so import it first)."""
    import nlp.rules  # noqa: F401  (registers the rules factory)

    path = Path(path)
    if not (path / "config.cfg").exists():
        raise FileNotFoundError(f"no spaCy pipeline at {path} (config.cfg missing)")
    return spacy.load(path)
