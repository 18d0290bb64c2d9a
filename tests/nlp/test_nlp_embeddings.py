"""Skip-gram pretraining of the NER's char/bigram embeddings, their use at init, and the lr schedule."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.embeddings import (
    cached_pretrain,
    char_bigrams,
    init_embedding,
    pretrain_embeddings,
    read_thucnews_titles,
)
from nlp.ner import DEFAULT_HP, lr_factor


@pytest.fixture(scope="module")
def titles() -> list[str]:
    return read_thucnews_titles()[:400]


def test_pretraining_is_reproducible_and_covers_corpus(titles):
    a_chars, a_bigrams = pretrain_embeddings(titles, char_dim=16, bigram_dim=8, seed=3, epochs=2)
    b_chars, b_bigrams = pretrain_embeddings(titles, char_dim=16, bigram_dim=8, seed=3, epochs=2)
    assert set(a_chars) == set(b_chars) and set(a_bigrams) == set(b_bigrams)
    assert all(np.array_equal(a_chars[k], b_chars[k]) for k in a_chars)
    assert "的" in a_chars and a_chars["的"].shape == (16,)
    # bigram keys are the ones the NER looks up, boundary marks included
    assert char_bigrams("公司") == ["\x02公", "公司", "司\x03"]
    assert "公司" in a_bigrams or "中国" in a_bigrams
    c_chars, _ = pretrain_embeddings(titles, char_dim=16, bigram_dim=8, seed=4, epochs=2)
    assert not np.array_equal(a_chars["的"], c_chars["的"])


def test_cache_returns_the_same_vectors(titles, tmp_path):
    first = cached_pretrain(titles[:100], tmp_path, char_dim=8, bigram_dim=8, seed=0, epochs=1)
    assert len(list(tmp_path.glob("w2v-*.pkl"))) == 1
    second = cached_pretrain(titles[:100], tmp_path, char_dim=8, bigram_dim=8, seed=0, epochs=1)
    assert first[2] == second[2]
    assert all(np.array_equal(first[0][k], second[0][k]) for k in first[0])
    other = cached_pretrain(titles[:100], tmp_path, char_dim=8, bigram_dim=8, seed=1, epochs=1)
    assert other[2] != first[2]


def test_init_embedding_sets_known_rows_only():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(4, 3)).astype(np.float32)
    untouched = weight[3].copy()
    index = {"<pad>": 0, "a": 1, "b": 2, "z": 3}
    vecs = {"a": np.array([1.0, 2.0, 3.0], np.float32), "b": np.array([3.0, 2.0, 1.0], np.float32),
            "q": np.ones(3, np.float32)}
    assert init_embedding(weight, index, vecs) == 2
    assert np.array_equal(weight[3], untouched)
    assert np.corrcoef(weight[1], [1.0, 2.0, 3.0])[0, 1] > 0.999


def test_lr_schedule_warms_up_then_decays():
    hp = {**DEFAULT_HP, "schedule": "cosine", "warmup": 0.1, "lr_floor": 0.05}
    assert lr_factor(0.05, hp) == pytest.approx(0.5)
    assert lr_factor(0.1, hp) == pytest.approx(1.0)
    assert lr_factor(1.0, hp) == pytest.approx(0.05)
    values = [lr_factor(p / 20, hp) for p in range(2, 21)]
    assert all(x >= y for x, y in zip(values, values[1:], strict=False))
    assert lr_factor(0.5, {**hp, "schedule": "constant"}) == 1.0


def test_train_tagger_starts_from_pretrained_vectors(cluener_file):

    from nlp.ner import load_cluener, split_examples, train_tagger

    train, dev, _test = split_examples(load_cluener(cluener_file))
    texts = [ex.text for ex in train[:200]]
    chars, bigrams = pretrain_embeddings(texts, char_dim=16, bigram_dim=8, seed=0, epochs=1)
    hp = {"char_dim": 16, "bigram_dim": 8, "hidden": 16}
    tagger, info = train_tagger(train[:20], dev[:10], max_steps=1, hp=hp, pretrained=(chars, bigrams))
    # the vocabulary grows to every pretrained key, not only the 20 labelled sentences' characters
    assert info["n_pretrained"] == {"chars": len(chars), "bigrams": len(bigrams)}
    assert set(chars) <= set(tagger.vocab.chars) and set(bigrams) <= set(tagger.vocab.bigrams)
    row = tagger.model.char_emb.weight[tagger.vocab.chars["的"]].detach().numpy()
    assert np.corrcoef(row, chars["的"])[0, 1] > 0.99  # one Adam step moves it only slightly
    with pytest.raises(ValueError, match="embedding width"):
        train_tagger(train[:20], dev[:10], max_steps=1, hp={**hp, "char_dim": 32}, pretrained=(chars, bigrams))
