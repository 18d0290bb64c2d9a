"""The NER training loop: default hyper-parameters, the learning-rate schedule, weight averaging and the
dev-selected weights."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import numpy as np

from nlp.ner.data import CLUENER_LABELS, Example
from nlp.ner.features import Vocab, encode_text, spans_to_tags
from nlp.ner.metrics import score_spans
from nlp.ner.model import CharTagger, batch_tensors

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
            chars, left, right, lex, tags, mask = batch_tensors([items[i] for i in bidx])
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
