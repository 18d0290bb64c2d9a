"""Chinese NER for the intelligence extractor: a char BiLSTM-CRF trained on CLUENER, wrapped as a spaCy component.

Features per character: the character, its left and right bigrams, and lexicon flags from jieba's shipped
dictionary (is this character the Begin/Middle/End of a dictionary word tagged person/place/org/...). The
lexicon flags stand in for pretrained embeddings, which cannot be downloaded here.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc

CLUENER_LABELS = [
    "address", "book", "company", "game", "government",
    "movie", "name", "organization", "position", "scene",
]
SPLIT_SEED = 2020  # fixed so that every model is scored on the same held-out sentences
DEV_FRACTION = 0.1
TEST_FRACTION = 0.1
MAX_WORD_LEN = 8
# jieba POS tag prefix -> lexicon category (order matters: longest prefixes first)
_POS_CATEGORIES = [("nr", 0), ("ns", 1), ("nt", 2), ("nz", 3), ("n", 4), ("v", 5)]
N_LEX_CAT = 7
N_LEX = 3 * N_LEX_CAT  # B/M/E x category


@dataclass
class Example:
    text: str
    spans: list[tuple[int, int, str]]  # char start, end (exclusive), label


def load_cluener(path: Path) -> list[Example]:
    """Read CLUENER jsonl (inclusive end offsets) into examples with exclusive ends."""
    if not path.exists():
        raise FileNotFoundError(f"CLUENER train file not found: {path}")
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                spans = [
                    (s, e + 1, label)
                    for label, ents in row.get("label", {}).items()
                    for _ent, offsets in ents.items()
                    for s, e in offsets
                ]
                out.append(Example(row["text"], sorted(spans)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad CLUENER row ({exc})") from exc
    return out


def split_examples(examples: list[Example]) -> tuple[list[Example], list[Example], list[Example]]:
    """Deterministic train/dev/test split of CLUENER's train set (seed SPLIT_SEED)."""
    idx = list(range(len(examples)))
    random.Random(SPLIT_SEED).shuffle(idx)
    n_test = int(len(idx) * TEST_FRACTION)
    n_dev = int(len(idx) * DEV_FRACTION)
    test = [examples[i] for i in idx[:n_test]]
    dev = [examples[i] for i in idx[n_test:n_test + n_dev]]
    train = [examples[i] for i in idx[n_test + n_dev:]]
    return train, dev, test


# ---------------------------------------------------------------- lexicon

_LEXICON: dict[str, int] | None = None


def jieba_lexicon() -> dict[str, int]:
    """word -> category index, from jieba's packaged dict.txt (no download)."""
    global _LEXICON
    if _LEXICON is None:
        import jieba

        lex: dict[str, int] = {}
        dict_path = Path(jieba.__file__).parent / "dict.txt"
        with dict_path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3 or not (2 <= len(parts[0]) <= MAX_WORD_LEN):
                    continue
                pos = parts[2]
                cat = next((c for p, c in _POS_CATEGORIES if pos.startswith(p)), 6)
                lex[parts[0]] = cat
        _LEXICON = lex
    return _LEXICON


def lexicon_features(text: str) -> np.ndarray:
    lex = jieba_lexicon()
    feats = np.zeros((len(text), N_LEX), dtype=np.float32)
    n = len(text)
    for i in range(n):
        for length in range(2, min(MAX_WORD_LEN, n - i) + 1):
            cat = lex.get(text[i:i + length])
            if cat is None:
                continue
            feats[i, cat] = 1.0  # B
            feats[i + length - 1, 2 * N_LEX_CAT + cat] = 1.0  # E
            for j in range(i + 1, i + length - 1):
                feats[j, N_LEX_CAT + cat] = 1.0  # M
    return feats


# ---------------------------------------------------------------- encoding


@dataclass
class Vocab:
    chars: dict[str, int] = field(default_factory=dict)
    bigrams: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, examples: list[Example], labels: list[str], min_bigram: int = 2,
              extra_chars: Any = (), extra_bigrams: Any = ()) -> Vocab:
        """Chars of the examples and their bigrams seen min_bigram times, plus the keys of pretrained vectors
        (extra_*): those have useful rows even when the labelled data never shows them."""
        cc = Counter(ch for ex in examples for ch in ex.text)
        bc = Counter(b for ex in examples for b in _bigrams(ex.text))
        chars = {"<pad>": 0, "<unk>": 1}
        for ch in sorted(set(cc) | set(extra_chars)):
            chars[ch] = len(chars)
        bigrams = {"<pad>": 0, "<unk>": 1}
        for b in sorted({b for b, n in bc.items() if n >= min_bigram} | set(extra_bigrams)):
            bigrams[b] = len(bigrams)
        tags = ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]
        return cls(chars, bigrams, tags)

    def to_json(self) -> dict[str, Any]:
        return {"chars": self.chars, "bigrams": self.bigrams, "tags": self.tags}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocab:
        return cls(data["chars"], data["bigrams"], data["tags"])


def _bigrams(text: str) -> list[str]:
    padded = f"\x02{text}\x03"
    return [padded[i:i + 2] for i in range(len(padded) - 1)]


def encode_ids(text: str, vocab: Vocab) -> tuple[list[int], list[int], list[int]]:
    """Char ids and left/right bigram ids of a text (unknown -> 1)."""
    bg = _bigrams(text)
    chars = [vocab.chars.get(ch, 1) for ch in text]
    left = [vocab.bigrams.get(b, 1) for b in bg[:-1]]
    right = [vocab.bigrams.get(b, 1) for b in bg[1:]]
    return chars, left, right


def encode_text(text: str, vocab: Vocab) -> tuple[list[int], list[int], list[int], np.ndarray]:
    return (*encode_ids(text, vocab), lexicon_features(text))


def spans_to_tags(ex: Example, vocab: Vocab) -> list[int]:
    index = {t: i for i, t in enumerate(vocab.tags)}
    tags = [0] * len(ex.text)
    for s, e, label in ex.spans:
        if f"B-{label}" not in index:
            continue
        tags[s] = index[f"B-{label}"]
        for i in range(s + 1, e):
            tags[i] = index[f"I-{label}"]
    return tags


def tags_to_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("I-") and start >= 0 and tag[2:] == label:
            continue
        if start >= 0:
            spans.append((start, i, label))
            start = -1
        if tag.startswith(("B-", "I-")):  # a stray I- starts a new entity rather than being dropped
            start, label = i, tag[2:]
    return spans


# ---------------------------------------------------------------- model (torch imported lazily)


def _build_model(vocab: Vocab, hp: dict[str, Any]):
    import torch
    from torch import nn

    class CRF(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.trans = nn.Parameter(torch.zeros(n, n))
            self.start = nn.Parameter(torch.zeros(n))
            self.end = nn.Parameter(torch.zeros(n))

        def nll(self, emis, tags, mask):
            bsz, tlen, _ = emis.shape
            maskf = mask.float()
            emit = emis.gather(2, tags.unsqueeze(2)).squeeze(2)  # (bsz, tlen)
            trans = self.trans[tags[:, :-1], tags[:, 1:]]  # (bsz, tlen - 1)
            score = self.start[tags[:, 0]] + emit[:, 0] + ((trans + emit[:, 1:]) * maskf[:, 1:]).sum(1)
            last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
            score = score + self.end[last]
            alpha = self.start + emis[:, 0]
            for t in range(1, tlen):
                nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans.unsqueeze(0) + emis[:, t].unsqueeze(1), dim=1)
                alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
            log_z = torch.logsumexp(alpha + self.end, dim=1)
            return (log_z - score).mean()

        def decode(self, emis, mask):
            return viterbi(emis, mask, self.trans, self.start, self.end)

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.char_emb = nn.Embedding(len(vocab.chars), hp["char_dim"], padding_idx=0)
            self.bigram_emb = nn.Embedding(len(vocab.bigrams), hp["bigram_dim"], padding_idx=0)
            in_dim = hp["char_dim"] + 2 * hp["bigram_dim"] + N_LEX
            self.drop = nn.Dropout(hp["dropout"])
            self.lstm = nn.LSTM(in_dim, hp["hidden"], num_layers=hp["layers"], bidirectional=True,
                                batch_first=True, dropout=hp["dropout"] if hp["layers"] > 1 else 0.0)
            self.out = nn.Linear(2 * hp["hidden"], len(vocab.tags))
            self.crf = CRF(len(vocab.tags))

        def emissions(self, chars, left, right, lex, mask):
            x = torch.cat([self.char_emb(chars), self.bigram_emb(left), self.bigram_emb(right), lex], dim=-1)
            x = self.drop(x)
            lengths = mask.sum(1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            h, _ = self.lstm(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=chars.shape[1])
            return self.out(self.drop(h))

    return Tagger()


def viterbi(emis, mask, trans, start, end) -> list[list[int]]:
    """Best tag path per sequence for emission scores (bsz, tlen, n_tags), a bool mask (bsz, tlen) and the CRF's
    transition (n_tags, n_tags), start and end scores. Shared by one tagger and an ensemble (averaged scores)."""
    import torch

    _bsz, tlen, _ = emis.shape
    score = start + emis[:, 0]
    back = []
    for t in range(1, tlen):
        cand = score.unsqueeze(2) + trans.unsqueeze(0)
        best, idx = cand.max(dim=1)
        nxt = best + emis[:, t]
        score = torch.where(mask[:, t].unsqueeze(1), nxt, score)
        back.append(idx)
    score = score + end
    lengths = mask.sum(1).tolist()
    out = []
    for b in range(emis.shape[0]):
        tag = int(score[b].argmax())
        path = [tag]
        for t in range(lengths[b] - 1, 0, -1):
            tag = int(back[t - 1][b, tag])
            path.append(tag)
        out.append(path[::-1])
    return out


DEFAULT_HP: dict[str, Any] = {
    "char_dim": 128, "bigram_dim": 64, "hidden": 200, "layers": 1, "dropout": 0.4,
    "lr": 2e-3, "batch_size": 32, "weight_decay": 1e-6, "min_bigram": 2,
    # lr schedule over the budget (progress = max(step/max_steps, seconds/max_seconds)): linear warmup, then
    # cosine decay to lr * lr_floor; "constant" keeps the old behaviour
    "schedule": "cosine", "warmup": 0.03, "lr_floor": 0.05,
    # weight averaging (SWA) over the last part of the budget; the averaged weights are kept if dev prefers them
    "swa_start": 0.6, "swa_every": 20,
    # skip-gram pretraining of char/bigram vectors on raw text (nlp.embeddings); 0 epochs = no pretraining
    "pretrain_epochs": 10,
}


def _batch(items: list[tuple[list[int], list[int], list[int], np.ndarray, list[int]]]):
    import torch

    tlen = max(len(it[0]) for it in items)
    bsz = len(items)
    chars = torch.zeros(bsz, tlen, dtype=torch.long)
    left = torch.zeros(bsz, tlen, dtype=torch.long)
    right = torch.zeros(bsz, tlen, dtype=torch.long)
    lex = torch.zeros(bsz, tlen, N_LEX)
    tags = torch.zeros(bsz, tlen, dtype=torch.long)
    mask = torch.zeros(bsz, tlen, dtype=torch.bool)
    for b, (c, lft, rgt, lx, tg) in enumerate(items):
        n = len(c)
        chars[b, :n] = torch.tensor(c)
        left[b, :n] = torch.tensor(lft)
        right[b, :n] = torch.tensor(rgt)
        lex[b, :n] = torch.from_numpy(lx)
        tags[b, :n] = torch.tensor(tg)
        mask[b, :n] = True
    return chars, left, right, lex, tags, mask


class CharTagger:
    """A trained tagger plus its vocabulary; predicts entity char spans for raw text."""

    def __init__(self, vocab: Vocab, hp: dict[str, Any], model: Any = None) -> None:
        self.vocab = vocab
        self.hp = hp
        self.model = model if model is not None else _build_model(vocab, hp)

    def predict(self, texts: list[str], max_len: int = 200, batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        return predict_spans([self], texts, max_len=max_len, batch_size=batch_size)

    def save(self, path: Path) -> None:
        import torch

        path.mkdir(parents=True, exist_ok=True)
        (path / "vocab.json").write_text(json.dumps(self.vocab.to_json(), ensure_ascii=False), encoding="utf-8")
        (path / "hp.json").write_text(json.dumps(self.hp), encoding="utf-8")
        # embeddings are most of the size: store them as float16 (no measurable effect on predictions)
        state = {k: (v.half() if "emb" in k else v) for k, v in self.model.state_dict().items()}
        torch.save(state, path / "model.pt")

    @classmethod
    def load(cls, path: Path) -> CharTagger:
        import torch

        vocab = Vocab.from_json(json.loads((path / "vocab.json").read_text(encoding="utf-8")))
        hp = json.loads((path / "hp.json").read_text(encoding="utf-8"))
        tagger = cls(vocab, hp)
        state = torch.load(path / "model.pt", map_location="cpu", weights_only=True)
        tagger.model.load_state_dict({k: v.float() for k, v in state.items()})
        tagger.model.eval()
        return tagger


def predict_spans(taggers: list[Any], texts: list[str], max_len: int = 200,
                  batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
    """Entity char spans per text from one or more taggers with the same tag set. With several, the CRF decodes
    the mean of their emission scores with the mean of their transition/start/end scores (one Viterbi pass);
    with one it is that tagger's own decoding. Each tagger encodes with its own vocabulary; the lexicon flags are
    computed once."""
    import torch

    tags = taggers[0].vocab.tags
    if any(t.vocab.tags != tags for t in taggers[1:]):
        raise ValueError("taggers in an ensemble must share one tag set")
    for t in taggers:
        t.model.eval()
    # long texts are tagged in windows: the model was trained on sentences of <= 50 chars
    chunks = [(ti, off, text[off:off + max_len]) for ti, text in enumerate(texts)
              for off in range(0, len(text), max_len) if text[off:off + max_len].strip()]
    chunks.sort(key=lambda c: len(c[2]))  # similar lengths per batch: less padding
    results: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    with torch.no_grad():
        k = len(taggers)
        trans = sum(t.model.crf.trans for t in taggers) / k
        start = sum(t.model.crf.start for t in taggers) / k
        end = sum(t.model.crf.end for t in taggers) / k
        for b in range(0, len(chunks), batch_size):
            part = chunks[b:b + batch_size]
            lexf = [lexicon_features(c[2]) for c in part]
            emis = None
            mask = None
            for t in taggers:
                items = [(*encode_ids(c[2], t.vocab), lx, [0] * len(c[2])) for c, lx in zip(part, lexf, strict=True)]
                chars, left, right, lex, _tags, mask = _batch(items)
                scores = t.model.emissions(chars, left, right, lex, mask)
                emis = scores if emis is None else emis + scores
            paths = viterbi(emis / k, mask, trans, start, end)
            for (ti, off, _chunk), path in zip(part, paths, strict=True):
                results[ti] += [(s + off, e + off, lab) for s, e, lab in tags_to_spans([tags[i] for i in path])]
    return [sorted(r) for r in results]


class EnsembleTagger:
    """K CharTaggers decoded together (`predict_spans`): saved as ensemble.json + member<i>/ folders, each a
    plain CharTagger save, plus hp.json (the first member's hp and the member count) for the registry."""

    def __init__(self, members: list[CharTagger]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one tagger")
        if any(m.vocab.tags != members[0].vocab.tags for m in members[1:]):
            raise ValueError("taggers in an ensemble must share one tag set")
        self.members = list(members)
        self.vocab = members[0].vocab
        self.hp = {**members[0].hp, "ensemble_members": len(members)}

    def predict(self, texts: list[str], max_len: int = 200, batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        return predict_spans(self.members, texts, max_len=max_len, batch_size=batch_size)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        names = [f"member{i}" for i in range(len(self.members))]
        for name, member in zip(names, self.members, strict=True):
            member.save(path / name)
        (path / "ensemble.json").write_text(json.dumps({"members": names, "combine": "mean_emissions_and_crf"}),
                                            encoding="utf-8")
        (path / "hp.json").write_text(json.dumps(self.hp), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> EnsembleTagger:
        path = Path(path)
        spec = json.loads((path / "ensemble.json").read_text(encoding="utf-8"))
        return cls([CharTagger.load(path / name) for name in spec["members"]])


def load_tagger(path: Path) -> CharTagger | EnsembleTagger:
    """A saved tagger folder (a pipeline's lodestar_char_ner/): an ensemble if it has ensemble.json."""
    path = Path(path)
    return EnsembleTagger.load(path) if (path / "ensemble.json").exists() else CharTagger.load(path)


# ---------------------------------------------------------------- metrics


def score_spans(gold: list[list[tuple[int, int, str]]], pred: list[list[tuple[int, int, str]]],
                labels: list[str] = CLUENER_LABELS) -> dict[str, Any]:
    """Exact-match entity P/R/F per label, micro and macro (mean of per-label F1)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for s in ps:
            (tp if s in gs else fp)[s[2]] += 1
        for s in gs - ps:
            fn[s[2]] += 1

    def prf(t: int, f_p: int, f_n: int) -> dict[str, float]:
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}

    per_label = {lab: prf(tp[lab], fp[lab], fn[lab]) for lab in labels}
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "micro_f1": micro["f"], "micro_p": micro["p"], "micro_r": micro["r"],
        "macro_f1": float(np.mean([v["f"] for v in per_label.values()])),
        "per_label": per_label,
    }


# ---------------------------------------------------------------- training


def lr_factor(progress: float, hp: dict[str, Any]) -> float:
    """Multiplier of hp["lr"] at a point of the budget (0..1): linear warmup then cosine decay to lr_floor."""
    if hp.get("schedule", "constant") == "constant":
        return 1.0
    warmup = hp.get("warmup", 0.0)
    if progress < warmup:
        return max(progress / warmup, 0.01)
    frac = min((progress - warmup) / max(1.0 - warmup, 1e-9), 1.0)
    floor = hp.get("lr_floor", 0.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * frac))


def train_tagger(train: list[Example], dev: list[Example], *, max_steps: int | None = None,
                 max_seconds: float | None = None, seed: int = 0, hp: dict[str, Any] | None = None,
                 eval_every: int = 250, log: Any = None, init: CharTagger | None = None,
                 pretrained: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
                 ) -> tuple[CharTagger, dict[str, Any]]:
    """Train on ``train``, keep the weights with the best dev macro F1; stops at the step or time budget.
    ``init`` continues from a trained tagger (its vocabulary is kept; hp overrides such as a lower lr apply).
    ``pretrained`` = ({char: vector}, {bigram: vector}) initialises the embeddings (new taggers only)."""
    import torch

    from nlp.embeddings import init_embedding

    if not max_steps and not max_seconds:
        raise ValueError("train_tagger needs a budget: max_steps and/or max_seconds")
    hp = {**DEFAULT_HP, **(init.hp if init else {}), **(hp or {})}
    torch.manual_seed(seed)
    rng = random.Random(seed)
    n_pretrained = {"chars": 0, "bigrams": 0}
    if init is not None:
        vocab, tagger = init.vocab, init
        tagger.hp = hp
    else:
        pc, pb = pretrained if pretrained else ({}, {})
        vocab = Vocab.build(train, CLUENER_LABELS, hp["min_bigram"], extra_chars=pc, extra_bigrams=pb)
        tagger = CharTagger(vocab, hp)
        with torch.no_grad():
            for emb, index, vecs, key in ((tagger.model.char_emb, vocab.chars, pc, "chars"),
                                          (tagger.model.bigram_emb, vocab.bigrams, pb, "bigrams")):
                if vecs and len(next(iter(vecs.values()))) != emb.weight.shape[1]:
                    raise ValueError(f"pretrained {key} vectors do not match the embedding width {emb.weight.shape[1]}")
                weight = emb.weight.detach().numpy()  # shares memory: rows are set in place
                n_pretrained[key] = init_embedding(weight, index, vecs)
                emb.weight[0].zero_()  # padding row
    model = tagger.model
    opt = torch.optim.Adam(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    items = [(*encode_text(ex.text, vocab), spans_to_tags(ex, vocab)) for ex in train if ex.text]
    t0 = time.monotonic()
    step, epoch = 0, 0
    best: dict[str, Any] = {"macro_f1": -1.0}
    best_state = None
    best_source = "none"
    history: list[dict[str, float]] = []
    swa_state: dict[str, Any] | None = None
    swa_n = 0

    def evaluate() -> dict[str, Any]:
        pred = tagger.predict([ex.text for ex in dev])
        return score_spans([ex.spans for ex in dev], pred)

    def progress_of(elapsed: float) -> float:
        return max(step / max_steps if max_steps else 0.0, elapsed / max_seconds if max_seconds else 0.0)

    def consider(m: dict[str, Any], source: str) -> None:
        nonlocal best, best_state, best_source
        if m["macro_f1"] > best["macro_f1"]:
            best, best_source = m, source
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def swa_eval() -> dict[str, Any] | None:
        """Score the averaged weights on dev (swapped in temporarily); None before averaging starts."""
        if swa_state is None:
            return None
        live = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(swa_state)
        m = evaluate()
        consider(m, f"swa@{step}")
        model.load_state_dict(live)
        return m

    done = False
    while not done:
        epoch += 1
        # length-bucketed batches: less padding, so each step is cheaper on one thread
        order = sorted(range(len(items)), key=lambda i: (len(items[i][0]), rng.random()))
        batches = [order[i:i + hp["batch_size"]] for i in range(0, len(order), hp["batch_size"])]
        rng.shuffle(batches)
        for bidx in batches:
            model.train()
            prog = progress_of(time.monotonic() - t0)
            for group in opt.param_groups:
                group["lr"] = hp["lr"] * lr_factor(prog, hp)
            chars, left, right, lex, tags, mask = _batch([items[i] for i in bidx])
            loss = model.crf.nll(model.emissions(chars, left, right, lex, mask), tags, mask)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            elapsed = time.monotonic() - t0
            prog = progress_of(elapsed)
            if prog >= hp.get("swa_start", 2.0) and step % hp.get("swa_every", 20) == 0:
                swa_n += 1
                cur = model.state_dict()
                if swa_state is None:
                    swa_state = {k: v.detach().clone() for k, v in cur.items()}
                else:
                    for k, v in cur.items():
                        if v.dtype.is_floating_point:
                            swa_state[k] += (v.detach() - swa_state[k]) / swa_n
            out_of_budget = prog >= 1.0
            if step % eval_every == 0 or out_of_budget:
                m = evaluate()
                consider(m, f"step@{step}")
                ms = swa_eval()
                history.append({"step": step, "epoch": epoch, "seconds": elapsed, "loss": float(loss.detach()),
                                "lr": opt.param_groups[0]["lr"], "dev_macro_f1": m["macro_f1"],
                                "dev_micro_f1": m["micro_f1"],
                                **({"dev_swa_macro_f1": ms["macro_f1"]} if ms else {})})
                if log:
                    log(f"step {step} epoch {epoch} {elapsed:.0f}s lr {opt.param_groups[0]['lr']:.2e} "
                        f"loss {float(loss.detach()):.3f} dev macro {m['macro_f1']:.4f} micro {m['micro_f1']:.4f}"
                        + (f" | swa({swa_n}) macro {ms['macro_f1']:.4f} micro {ms['micro_f1']:.4f}" if ms else ""))
            if out_of_budget:
                done = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    info = {"steps": step, "epochs": epoch, "train_seconds": time.monotonic() - t0,
            "best_dev_macro_f1": best["macro_f1"], "best_dev_micro_f1": best.get("micro_f1"),
            "best_dev_per_label": best.get("per_label"), "selected_weights": best_source,
            "n_pretrained": n_pretrained, "history": history, "hp": hp}
    return tagger, info


# ---------------------------------------------------------------- spaCy pipeline


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
