"""NER ensemble: K char taggers decoded together, saved in a spaCy pipeline and loaded back (tiny untrained
models on hand-written sentences: seconds)."""

from __future__ import annotations

import json
from pathlib import Path

from prerequisites import require_module  # noqa: E402

torch = require_module("torch")

from nlp.ner import (  # noqa: E402
    CLUENER_LABELS,
    CharTagger,
    EnsembleTagger,
    Example,
    Vocab,
    batch_tensors,
    build_pipeline,
    encode_text,
    load_pipeline,
    load_tagger,
    tags_to_spans,
    viterbi,
)

TEXTS = ["北京市财政局向华为技术有限公司拨付补贴。", "张三在上海参加了游戏展。", "国务院发布《新能源汽车产业发展规划》"]
TINY_HP = {"char_dim": 8, "bigram_dim": 4, "hidden": 6, "layers": 1, "dropout": 0.0, "min_bigram": 1}


def _tagger(seed: int) -> CharTagger:
    torch.manual_seed(seed)
    vocab = Vocab.build([Example(t, []) for t in TEXTS], CLUENER_LABELS, min_bigram=1)
    tagger = CharTagger(vocab, dict(TINY_HP))
    with torch.no_grad():  # random weights find few entities: make the CRF scores and biases spread out
        tagger.model.out.bias.normal_(0, 2.0)
        tagger.model.crf.trans.normal_(0, 1.0)
    return tagger


def _manual(taggers: list[CharTagger], text: str) -> list[tuple[int, int, str]]:
    """Reference: mean emissions and mean CRF scores of the members, decoded with Viterbi."""
    with torch.no_grad():
        emis = []
        for t in taggers:
            t.model.eval()
            chars, left, right, lex, _tags, mask = batch_tensors([(*encode_text(text, t.vocab), [0] * len(text))])
            emis.append(t.model.emissions(chars, left, right, lex, mask))
        k = len(taggers)
        path = viterbi(sum(emis) / k, mask, sum(t.model.crf.trans for t in taggers) / k,
                       sum(t.model.crf.start for t in taggers) / k, sum(t.model.crf.end for t in taggers) / k)[0]
    return tags_to_spans([taggers[0].vocab.tags[i] for i in path])


def test_ensemble_decodes_mean_scores_and_reduces_to_single():
    a, b, c = _tagger(1), _tagger(2), _tagger(3)
    assert EnsembleTagger([a]).predict(TEXTS) == a.predict(TEXTS)
    assert EnsembleTagger([a, a]).predict(TEXTS) == a.predict(TEXTS)
    ens = EnsembleTagger([a, b, c])
    pred = ens.predict(TEXTS)
    assert pred == [_manual([a, b, c], t) for t in TEXTS]
    assert any(pred)  # the check above is not vacuous
    assert pred != a.predict(TEXTS) or pred != b.predict(TEXTS)
    # long texts go through the same windowing as a single tagger
    long = "".join(TEXTS) * 10
    assert len(ens.predict([long], max_len=50)[0]) > 0


def test_ensemble_round_trips_through_spacy_pipeline(tmp_path: Path):
    a, b = _tagger(1), _tagger(2)
    ens = EnsembleTagger([a, b])
    expected = ens.predict(TEXTS)
    nlp = build_pipeline(ens)
    nlp.to_disk(tmp_path / "pipe")
    saved = tmp_path / "pipe" / "lodestar_char_ner"
    assert json.loads((saved / "ensemble.json").read_text())["members"] == ["member0", "member1"]
    assert json.loads((saved / "hp.json").read_text())["ensemble_members"] == 2  # read by register_pipeline
    loaded = load_pipeline(tmp_path / "pipe")
    assert loaded.pipe_names == ["lodestar_char_ner", "lodestar_rules"]
    assert isinstance(loaded.get_pipe("lodestar_char_ner").tagger, EnsembleTagger)
    assert loaded.get_pipe("lodestar_char_ner").tagger.predict(TEXTS) == expected
    doc = loaded.get_pipe("lodestar_char_ner")(loaded.make_doc(TEXTS[0]))  # the NER alone, without the rules
    assert {(e.start_char, e.end_char, e.label_) for e in doc.ents} <= set(expected[0])
    assert doc.ents
    assert load_tagger(saved).predict(TEXTS) == expected


def test_single_tagger_pipeline_still_round_trips(tmp_path: Path):
    a = _tagger(4)
    build_pipeline(a).to_disk(tmp_path / "single")
    assert not (tmp_path / "single" / "lodestar_char_ner" / "ensemble.json").exists()
    tagger = load_pipeline(tmp_path / "single").get_pipe("lodestar_char_ner").tagger
    assert isinstance(tagger, CharTagger)
    assert tagger.predict(TEXTS) == a.predict(TEXTS)


def test_ensemble_ner_scores_and_saves(tmp_path: Path):
    from nlp.training import ensemble_ner

    rows = []
    for i in range(40):
        text = TEXTS[i % 3]
        label = {"company": {"华为技术有限公司": [[7, 14]]}} if i % 3 == 0 else {}
        rows.append(json.dumps({"text": text, "label": label}, ensure_ascii=False))
    data = tmp_path / "mini.json"
    data.write_text("\n".join(rows), encoding="utf-8")
    dirs = []
    for seed in (1, 2):
        d = tmp_path / f"m{seed}"
        build_pipeline(_tagger(seed)).to_disk(d)
        (d / "metrics.json").write_text(json.dumps({"macro_f1": 0.1, "train_seconds": 5.0, "steps": 3, "seed": seed}))
        dirs.append(d)
    m = ensemble_ner(dirs, tmp_path / "ens", data_path=data, note="tiny")
    assert m["n_members"] == 2 and m["n_test"] == 4 and m["n_dev"] == 4
    assert m["train_seconds"] == 10.0 and set(m["per_label"]) == set(CLUENER_LABELS)
    saved = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert saved["training_note"] == "tiny" and saved["members"][1]["seed"] == 2
    assert isinstance(load_pipeline(tmp_path / "ens").get_pipe("lodestar_char_ner").tagger, EnsembleTagger)
