"""Industry documents: text PDFs carry an extractable text layer, scans only pixels, and truth holds the text."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pytesseract
from PIL import Image


def _docs(demo: Path) -> list[dict]:
    return [json.loads(x) for x in (demo / "truth" / "documents.jsonl").read_text(encoding="utf-8").splitlines()]


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def test_eight_documents_with_planted_facts(demo_small: tuple[Path, dict]) -> None:
    demo = demo_small[0]
    docs = _docs(demo)
    assert len(docs) == 8
    assert {d["render"] for d in docs} == {"text_pdf", "scan_png", "scan_pdf"}
    text = "".join(p for d in docs for p in d["pages"])
    assert re.search(r"《[^》]+》", text) and re.search(r"GB/T \d+-\d{4}", text)
    assert "万元" in text and "亿元" in text
    for d in docs:
        for f in d["files"]:
            assert (demo / "documents" / f).stat().st_size > 1000
        for values in d["facts"].values():
            for v in values:
                needle = v["alias"] if isinstance(v, dict) else v
                # Facts are planted verbatim (wrapping aside) so extraction can be scored exactly.
                assert _norm(needle) in _norm("".join(d["pages"])), (d["doc_id"], v)


def test_text_pdf_layer_equals_truth_and_scans_have_none(demo_small: tuple[Path, dict]) -> None:
    demo = demo_small[0]
    for d in _docs(demo):
        for f in d["files"]:
            if not f.endswith(".pdf"):
                continue
            pdf = pdfium.PdfDocument(str(demo / "documents" / f))
            texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
            if d["render"] == "text_pdf":
                assert [_norm(t) for t in texts] == [_norm(p) for p in d["pages"]]
            else:
                assert all(not t.strip() for t in texts)


def test_scan_is_readable_by_tesseract(demo_small: tuple[Path, dict]) -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    demo = demo_small[0]
    doc = next(d for d in _docs(demo) if d["render"] == "scan_png")
    img = Image.open(demo / "documents" / doc["files"][0])
    assert img.width == 2480  # A4 width at 300 dpi
    ocr = _norm(pytesseract.image_to_string(img, lang="chi_sim", config="--psm 6"))
    truth = _norm(doc["pages"][0])
    from rapidfuzz.distance import Levenshtein

    cer = Levenshtein.distance(ocr, truth) / len(truth)
    assert cer < 0.15, (cer, ocr[:80])
