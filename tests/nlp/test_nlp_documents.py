"""The inbox pipeline on real files: text layer vs OCR per page, real tesseract, every bad-input case."""

from __future__ import annotations

import os
import unicodedata

import pypdfium2 as pdfium
import pytest
from PIL import Image

from lodestar.files import sha256_file
from nlp.documents import process_documents
from nlp.ocr import ocr_image
from nlp.synth import image_pdf, render_page, text_pdf

LINES = [
    "浙江华海药业股份有限公司拟投资3.5亿元建设两条新产线。",
    "工信部发布《医药工业高质量发展行动方案》，对设备更新给予专项资金补贴。",
    "截至2024年12月31日，公司逾期贷款1200万元。",
]


def cer(ref: str, hyp: str) -> float:
    from rapidfuzz.distance import Levenshtein

    ref, hyp = "".join(ref.split()), "".join(hyp.split())
    return Levenshtein.distance(ref, hyp) / len(ref)


def test_ocr_clean_page_reads_chinese():
    res = ocr_image(render_page(LINES))
    assert res.language == "chi_sim"
    assert res.confidence > 70
    norm = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
    assert cer(norm("".join(LINES)), norm(res.text)) < 0.03


def test_ocr_fixes_sideways_and_skewed_pages():
    sideways = ocr_image(render_page(LINES, rotate90=90))
    assert sideways.rotation in (90, 270)
    assert cer("".join(LINES), sideways.text) < 0.05
    skewed = ocr_image(render_page(LINES, skew=3, noise=0.05, blur=0.8))
    assert abs(abs(skewed.skew) - 3) <= 0.5
    assert cer("".join(LINES), skewed.text) < 0.08


def test_ocr_reads_a_demo_scan_with_a_title_line_as_one_block():
    """The demo's briefing scan (title + short lines, speckle, slight skew) that automatic layout analysis
    (--psm 3) broke into fragments at 16% CER is read as one block of text."""
    import numpy as np

    from lodestar.demo.documents import _scan

    lines = ["清洁用品行业简报（2026年11月）", "蓝月亮宣布在华南新建年产20万吨的洗涤剂生产基地，预计2027年投产",
             "。", "维达下调商用纸品出厂价约5%，行业价格竞争加剧。", "据了解，金鼎商贸已开始代理立白商用清洁系列产品。"]
    import unicodedata

    res = ocr_image(_scan(lines, np.random.default_rng(7)))
    norm = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
    assert cer(norm("".join(lines)), norm(res.text)) < 0.06, res.text  # 0.16 with --psm 3
    assert "蓝月亮" in res.text and "清洁用品行业简报" in res.text


def test_ocr_rejects_tiny_image():
    with pytest.raises(ValueError, match="too small"):
        ocr_image(Image.new("L", (20, 20), 255))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    d = tmp_path_factory.mktemp("inbox")
    text_pdf([LINES], d / "digital.pdf")
    image_pdf([render_page(LINES)], d / "scanned.pdf")
    # one PDF with a text page and a scanned page: the path must be chosen per page
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(pdfium.PdfDocument(str(d / "digital.pdf")))
    mixed.import_pages(pdfium.PdfDocument(str(d / "scanned.pdf")))
    mixed.save(str(d / "mixed.pdf"))
    render_page(LINES[:2], font_size=36).save(d / "photo.png")
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage" * 10)
    (d / "empty.png").write_bytes(b"")
    Image.new("RGB", (12, 12), "white").save(d / "tiny.png")
    (d / "notes.docx").write_bytes(b"PK\x03\x04 not really a word file")
    (d / "fake.jpg").write_bytes(b"this is text, not a JPEG")
    text_pdf([["Quarterly report of Acme Corporation for the shareholders meeting."]], d / "english.pdf")
    text_pdf([[f"第{i}页：钢铁行业产能置换实施办法要求新建产线。"] for i in range(300)], d / "long.pdf")
    Image.new("L", (800, 600), 255).save(d / "blank.png")
    os.symlink(d / "digital.pdf", d / "link.pdf")
    return d


def test_batch_routes_every_file(inbox, rules_nlp):
    import pandas as pd

    customers = pd.DataFrame({"id": ["C1", "C2"], "name": ["浙江华海药业有限公司", "宁德时代"],
                              "aliases": ["华海药业;华海", ""]})
    known = {sha256_file(inbox / "photo.png")}  # already in the caller's hash log
    names = ["digital.pdf", "scanned.pdf", "mixed.pdf", "photo.png", "corrupt.pdf", "empty.png", "tiny.png",
             "notes.docx", "fake.jpg", "english.pdf", "long.pdf", "blank.png", "link.pdf", "missing.pdf"]
    paths = [inbox / n for n in names] + [inbox / ".." / inbox.name / "digital.pdf", inbox / "digital.pdf"]
    batch = process_documents(paths, rules_nlp, customers, known_hashes=known, inbox=inbox, max_pages=3)

    docs = batch.documents.set_index("file_name")
    assert set(docs.index) == {"digital.pdf", "scanned.pdf", "mixed.pdf", "long.pdf"}
    assert docs.loc["digital.pdf", "page_paths"] == "text"
    assert docs.loc["scanned.pdf", "page_paths"] == "ocr"
    assert docs.loc["mixed.pdf", "page_paths"] == "text,ocr"
    assert docs.loc["scanned.pdf", "mean_confidence"] > 70
    assert docs.loc["digital.pdf", "doc_id"] == sha256_file(inbox / "digital.pdf")
    assert docs.loc["long.pdf", "status"] == "truncated"
    assert docs.loc["long.pdf", "pages"] == 3 and docs.loc["long.pdf", "pages_total"] == 300
    assert "page cap" in docs.loc["long.pdf", "note"]

    reasons = dict(zip(batch.rejects["file_name"], batch.rejects["reason"], strict=True))
    assert "corrupt" in reasons["corrupt.pdf"]
    assert "empty" in reasons["empty.png"]
    assert "too small" in reasons["tiny.png"]
    assert "unsupported format '.docx'" in reasons["notes.docx"]
    assert "not a valid JPG" in reasons["fake.jpg"]
    assert "not a Chinese document" in reasons["english.pdf"]
    assert "no text" in reasons["blank.png"]
    assert "symbolic link" in reasons["link.pdf"]
    assert "does not exist" in reasons["missing.pdf"]
    traversal = batch.rejects[batch.rejects["source_path"].str.contains(r"\.\.")]
    assert len(traversal) == 1 and "path traversal" in traversal["reason"].iloc[0]
    assert len(batch.rejects) == 10

    # photo.png was in the hash log; the second digital.pdf is a re-drop within the batch
    assert batch.skipped == [sha256_file(inbox / "photo.png"), sha256_file(inbox / "digital.pdf")]
    assert set(batch.hashes) >= set(docs["doc_id"])

    pages = batch.pages
    assert len(pages) == 1 + 1 + 2 + 3
    facts = batch.facts
    digital = facts[facts["doc_id"] == docs.loc["digital.pdf", "doc_id"]]
    money = digital[digital["entity_label"] == "MONEY"]
    assert {("3.5", "亿元"), ("1200", "万元")} <= set(zip(money["value"], money["unit"], strict=True))
    company = digital[digital["entity_label"] == "company"]
    assert company["linked_customer_id"].tolist() == ["C1"]
    assert set(digital["fact_type"]) >= {"capacity_change", "policy_measure", "financial_risk"}
    scanned = facts[facts["doc_id"] == docs.loc["scanned.pdf", "doc_id"]]
    assert "浙江华海药业股份有限公司" in set(scanned["value"])


def test_batch_frames_land_in_duckdb(inbox, rules_nlp, tmp_path):
    """The frames are shaped for raw.intel_*: they load into a real DuckDB warehouse as they are."""
    from lodestar.warehouse import Warehouse

    batch = process_documents([inbox / "digital.pdf", inbox / "corrupt.pdf"], rules_nlp, None, inbox=inbox)
    wh = Warehouse(tmp_path / "wh.duckdb")
    for name in ("documents", "pages", "facts", "rejects"):
        wh.replace_table("raw", f"intel_{name}", getattr(batch, name))
    assert wh.row_count("raw", "intel_documents") == 1
    assert wh.row_count("raw", "intel_rejects") == 1
    assert wh.row_count("raw", "intel_facts") == len(batch.facts) > 0
    assert batch.documents["language"].tolist() == ["zh"]
