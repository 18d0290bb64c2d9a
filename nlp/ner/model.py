"""The char BiLSTM-CRF tagger (torch imported lazily): the network, Viterbi decoding, one tagger or an
ensemble decoded together, and their save/load folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nlp.ner.features import N_LEX, Vocab, encode_ids, lexicon_features, tags_to_spans


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


def batch_tensors(items: list[tuple[list[int], list[int], list[int], np.ndarray, list[int]]]):
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
                chars, left, right, lex, _tags, mask = batch_tensors(items)
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
