"""Skip-gram pretraining of character and bigram embeddings for the char NER, on raw Chinese text only.

Corpus: the texts (never the labels) of the NER training split plus the THUCNews titles in shared data. The
held-out dev/test sentences are left out so that their scores stay honest. gensim with one worker and a fixed
seed makes the vectors reproducible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lodestar.settings import get_settings
from nlp.ner.features import char_bigrams  # the keys the NER model looks its bigram vectors up by


def thucnews_titles_path() -> Path:
    return get_settings().shared_data_dir / "thucnews_titles" / "dev.txt"


def read_thucnews_titles(path: Path | None = None) -> list[str]:
    """Titles (first tab field) of THUCNews; a missing file is an error naming it."""
    path = Path(path) if path else thucnews_titles_path()
    if not path.exists():
        raise FileNotFoundError(f"THUCNews titles not found: {path}")
    with path.open(encoding="utf-8") as fh:
        return [line.split("\t", 1)[0].strip() for line in fh if line.strip()]


def pretrain_embeddings(texts: list[str], *, char_dim: int, bigram_dim: int, seed: int = 0, epochs: int = 10,
                        window: int = 5, min_count: int = 2) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Skip-gram (negative sampling) vectors: ({char: vec}, {bigram: vec}). Deterministic for a given seed."""
    from gensim.models import Word2Vec

    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("pretrain_embeddings: no text to train on")
    out: list[dict[str, np.ndarray]] = []
    for sentences, dim in (([list(t) for t in texts], char_dim), ([char_bigrams(t) for t in texts], bigram_dim)):
        # workers=1: gensim is only reproducible single-threaded, and the machine is shared anyway
        w2v = Word2Vec(sentences, vector_size=dim, window=window, min_count=min_count, sg=1, negative=5,
                       workers=1, seed=seed, epochs=epochs, sample=1e-4)
        out.append({k: w2v.wv[k].astype(np.float32) for k in w2v.wv.index_to_key})
    return out[0], out[1]


def init_embedding(weight: np.ndarray, index: dict[str, int], vectors: dict[str, np.ndarray]) -> int:
    """Copy pretrained vectors into rows of an embedding matrix, rescaled to the matrix's std; returns rows set."""
    if not vectors:
        return 0
    keys = [k for k in index if k in vectors]
    if not keys:
        return 0
    mat = np.stack([vectors[k] for k in keys])
    # match the scale of the random init so that pretrained and unseen rows start comparable
    mat = mat / (mat.std() + 1e-8) * (weight.std() + 1e-8)
    rows = np.array([index[k] for k in keys])
    weight[rows] = mat
    return len(keys)


def cached_pretrain(texts: list[str], cache_dir: Path | None, **params: int) -> tuple[
        dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """`pretrain_embeddings` memoised on disk by a hash of the corpus and parameters: (chars, bigrams, key).
    Parallel or repeated runs on the same split then share one pretraining pass."""
    import hashlib
    import pickle

    digest = hashlib.sha256()
    for t in texts:
        digest.update(t.encode("utf-8") + b"\n")
    digest.update(repr(sorted(params.items())).encode())
    key = digest.hexdigest()[:16]
    path = Path(cache_dir) / f"w2v-{key}.pkl" if cache_dir else None
    if path is not None and path.exists():
        with path.open("rb") as fh:
            chars, bigrams = pickle.load(fh)
        return chars, bigrams, key
    chars, bigrams = pretrain_embeddings(texts, **params)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump((chars, bigrams), fh)
        tmp.replace(path)
    return chars, bigrams, key
