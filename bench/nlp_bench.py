"""Benchmark of the intelligence extractor: OCR CER and speed on the demo generator's scanned documents and on
rendered pages (a clean set and a harder one: other fonts, sizes, noise, skew, blur), NER F1 per label on the held-out
CLUENER split, sentiment accuracy on the shipped labelled set, documents/minute end to end.

Run: OMP_THREAD_LIMIT=1 .venv/bin/python bench/nlp_bench.py [--ner-dir DIR (default: nlp/models/lodestar_ner)]
[--pages N]; writes bench/results/nlp.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from nlp.documents import process_documents  # noqa: E402
from nlp.ner import build_pipeline, load_cluener, load_tagger, score_spans, split_examples  # noqa: E402
from nlp.ocr import ocr_image  # noqa: E402
from nlp.sentiment import score_sentiment, sentiment_accuracy  # noqa: E402
from nlp.synth import NOTO_CJK, WQY_ZENHEI, image_pdf, render_page, text_pdf  # noqa: E402
from nlp.training import cluener_path  # noqa: E402

ROOT = Path(__file__).resolve().parent
SHIPPED_NER = ROOT.parent / "nlp" / "models" / "lodestar_ner"
LINES_PER_PAGE = 12


def _strip(s: str) -> str:
    return "".join(s.split())


def cer(ref: str, hyp: str, nfkc: bool) -> tuple[int, int]:
    if nfkc:
        ref, hyp = unicodedata.normalize("NFKC", ref), unicodedata.normalize("NFKC", hyp)
    ref, hyp = _strip(ref), _strip(hyp)
    return Levenshtein.distance(ref, hyp), len(ref)


def page_lines(n_pages: int) -> list[list[str]]:
    """Held-out CLUENER sentences (natural Chinese with digits and Latin) as page text."""
    _tr, _dv, test = split_examples(load_cluener(cluener_path()))
    texts = [e.text for e in test if 12 <= len(e.text) <= 45]
    return [texts[i * LINES_PER_PAGE:(i + 1) * LINES_PER_PAGE] for i in range(n_pages)]


def ocr_set(name: str, pages: list[list[str]], variants: list[dict]) -> dict:
    errs = {True: 0, False: 0}
    total = {True: 0, False: 0}
    t0 = time.monotonic()
    per_page = []
    for i, lines in enumerate(pages):
        kw = variants[i % len(variants)]
        res = ocr_image(render_page(lines, seed=i, **kw))
        row = {"variant": {k: str(v) for k, v in kw.items()}, "confidence": res.confidence, "language": res.language}
        for nf in (True, False):
            e, n = cer("".join(lines), res.text, nf)
            errs[nf] += e
            total[nf] += n
            row["cer_nfkc" if nf else "cer_raw"] = round(e / n, 4)
        per_page.append(row)
    secs = time.monotonic() - t0
    return {"set": name, "pages": len(pages), "cer_nfkc": round(errs[True] / total[True], 4),
            "cer_raw": round(errs[False] / total[False], 4), "pages_per_second": round(len(pages) / secs, 3),
            "seconds": round(secs, 1), "per_page": per_page}


def demo_scans_set() -> dict:
    """The demo generator's own scanned documents (PNG pages and image-only PDFs, ~300 dpi, slight skew and
    speckle) read through the extractor's real path (nlp.documents.read_document: PDF render + OCR), scored
    against the exact page text the generator recorded."""
    from lodestar.demo.documents import write_documents
    from lodestar.demo.generator import DEFAULT_SEED
    from lodestar.demo.master import build_master
    from nlp.documents import read_document

    errs = {True: 0, False: 0}
    total = {True: 0, False: 0}
    per_page, n_pages, secs = [], 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_documents(build_master(0.05, DEFAULT_SEED), Path(tmp), DEFAULT_SEED)
        for doc in truth:
            if doc["render"] == "text_pdf":
                continue
            t0 = time.monotonic()
            read = [p for f in doc["files"] for p in read_document(Path(tmp) / "documents" / f)[1]]
            secs += time.monotonic() - t0
            for ref, page in zip(doc["pages"], read, strict=True):
                row = {"doc_id": doc["doc_id"], "render": doc["render"], "path": page.path,
                       "confidence": page.confidence}
                for nf in (True, False):
                    e, n = cer(ref, page.text, nf)
                    errs[nf] += e
                    total[nf] += n
                    row["cer_nfkc" if nf else "cer_raw"] = round(e / n, 4)
                per_page.append(row)
                n_pages += 1
    return {"set": "demo_generator_scans", "pages": n_pages, "cer_nfkc": round(errs[True] / total[True], 4),
            "cer_raw": round(errs[False] / total[False], 4), "pages_per_second": round(n_pages / secs, 3),
            "seconds": round(secs, 1), "per_page": per_page}


def ner_bench(ner_dir: Path | None) -> dict:
    if ner_dir is None:
        return {"skipped": "no --ner-dir given"}
    tagger = load_tagger(ner_dir / "lodestar_char_ner")
    _tr, _dv, test = split_examples(load_cluener(cluener_path()))
    t0 = time.monotonic()
    pred = tagger.predict([e.text for e in test])
    secs = time.monotonic() - t0
    m = score_spans([e.spans for e in test], pred)
    saved = ner_dir / "metrics.json"
    train_info = {}
    if saved.exists():
        data = json.loads(saved.read_text(encoding="utf-8"))
        train_info = {k: data.get(k) for k in ("train_seconds", "train_seconds_total", "pretrain_seconds", "steps", "epochs", "n_train",
                                               "best_dev_macro_f1")}
    return {"n_test": len(test), "macro_f1": round(m["macro_f1"], 4), "micro_f1": round(m["micro_f1"], 4),
            "per_label": {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in m["per_label"].items()},
            "sentences_per_second": round(len(test) / secs, 1), "training": train_info}


def sentiment_bench() -> dict:
    df = pd.read_csv(Path(__file__).resolve().parents[1] / "nlp" / "resources" / "sentiment_eval.tsv", sep="\t")
    out = score_sentiment(df["text"].tolist())
    return {k: round(v, 4) for k, v in sentiment_accuracy(out["label"].tolist(), df["label"].tolist()).items()}


def end_to_end(ner_dir: Path | None, pages: list[list[str]]) -> dict:
    if ner_dir is not None:
        nlp = build_pipeline(load_tagger(ner_dir / "lodestar_char_ner"))
    else:
        nlp = build_pipeline(None)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        paths = []
        for i, lines in enumerate(pages[:4]):
            p = d / f"doc{i}.pdf"
            if i % 2:
                image_pdf([render_page(lines)], p)
            else:
                text_pdf([lines], p)
            paths.append(p)
        t0 = time.monotonic()
        batch = process_documents(paths, nlp, None, inbox=d)
        secs = time.monotonic() - t0
    return {"documents": len(paths), "accepted": len(batch.documents), "facts": len(batch.facts),
            "seconds": round(secs, 1), "documents_per_minute": round(60 * len(paths) / secs, 2),
            "mix": "half digital (text layer), half scanned (OCR), 1 page each"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ner-dir", type=Path, default=SHIPPED_NER if SHIPPED_NER.exists() else None,
                    help="a pipeline saved by train_ner (default: the shipped nlp/models/lodestar_ner)")
    ap.add_argument("--pages", type=int, default=6, help="pages per OCR set")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "nlp.json")
    args = ap.parse_args()
    pages = page_lines(2 * args.pages + 4)
    hard = [{"font_size": 30, "noise": 0.06}, {"skew": 2.5, "blur": 0.8}, {"font_size": 34, "skew": -3.5, "noise": 0.08, "blur": 1.0}]
    if WQY_ZENHEI.exists():
        hard.append({"font_path": WQY_ZENHEI, "skew": 1.5, "noise": 0.05})
    result = {
        "machine": "2 cores shared with other jobs; tesseract with OMP_THREAD_LIMIT=1",
        "ocr": [
            demo_scans_set(),
            ocr_set("clean_noto_sans_sc_42px_300dpi", pages[:args.pages], [{"font_path": NOTO_CJK}]),
            ocr_set("hard_size_noise_skew_blur_fonts", pages[args.pages:2 * args.pages], hard),
        ],
        "ner": ner_bench(args.ner_dir),
        "sentiment": sentiment_bench(),
        "end_to_end": end_to_end(args.ner_dir, pages[2 * args.pages:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    summary = {"ocr": [{k: s[k] for k in ("set", "cer_nfkc", "cer_raw", "pages_per_second")} for s in result["ocr"]],
               "ner_macro_f1": result["ner"].get("macro_f1"), "sentiment": result["sentiment"].get("accuracy"),
               "documents_per_minute": result["end_to_end"]["documents_per_minute"]}
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
