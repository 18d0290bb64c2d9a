"""The document inbox pipeline: file -> pages (PDF text layer or OCR, chosen per page) -> facts, with a reject
record for every bad input and the file's sha256 as document id so that re-drops are skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError
from spacy.language import Language

from lodestar.files import sha256_file
from nlp.facts import FACT_COLUMNS, classify_sentence, extract_facts, split_sentences
from nlp.linking import customer_gazetteer, find_customer_mentions, link_organisations
from nlp.ocr import MIN_SIDE_PX, cjk_share, ocr_image

log = logging.getLogger(__name__)

DOCUMENT_COLUMNS = [
    "doc_id", "file_name", "source_path", "format", "pages", "pages_total", "page_paths", "language",
    "ocr_languages", "mean_confidence", "status", "note", "processed_at",
]
PAGE_COLUMNS = ["doc_id", "page", "path", "language", "confidence", "rotation", "skew", "chars", "text"]
REJECT_COLUMNS = ["file_name", "source_path", "doc_id", "reason", "rejected_at"]

MAX_PAGES = 50
MAX_FILE_BYTES = 200 * 1024 * 1024
MIN_TEXT_LAYER_CHARS = 20  # fewer non-space characters than this on a PDF page = scanned, OCR it
RENDER_DPI = 300
MIN_CJK_SHARE = 0.3  # documents below this share of Chinese characters are rejected as non-Chinese
LINKABLE_LABELS = ("company", "organization")
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"II*\x00": "tiff", b"MM\x00*": "tiff"}
_SUPPORTED_EXT = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


class RejectedDocument(Exception):
    """A document that cannot be processed; the message is the reject reason."""


@dataclass
class IntelBatch:
    documents: pd.DataFrame
    pages: pd.DataFrame
    facts: pd.DataFrame
    rejects: pd.DataFrame
    skipped: list[str] = field(default_factory=list)  # sha256 of files already processed (hash log hits)

    @property
    def hashes(self) -> list[str]:
        """sha256 of every document that was accepted or rejected in this batch: append these to the hash log."""
        return [*self.documents["doc_id"].tolist(), *[h for h in self.rejects["doc_id"].tolist() if h]]


def check_path(path: Path, inbox: Path | None) -> None:
    """Reject names that try to escape the inbox or hide what they are."""
    raw = str(path)
    name = path.name
    if any(ord(ch) < 32 or ch == "\x7f" for ch in raw):
        raise RejectedDocument("file name contains control characters")
    if ".." in path.parts:
        raise RejectedDocument("file path contains '..' (path traversal)")
    if name.startswith(("-", ".")) or not name:
        raise RejectedDocument("hidden or option-like file name")
    if path.is_symlink():
        raise RejectedDocument("symbolic links are not accepted in the inbox")
    if inbox is not None:
        try:
            path.resolve().relative_to(Path(inbox).resolve())
        except ValueError as exc:
            raise RejectedDocument(f"file is outside the inbox {inbox}") from exc


def sniff_format(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if not head:
        raise RejectedDocument("empty file (0 bytes)")
    if head.startswith(b"%PDF"):
        return "pdf"
    for magic, fmt in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return fmt
    ext = path.suffix.lower()
    if ext in _SUPPORTED_EXT:
        raise RejectedDocument(f"content is not a valid {ext[1:].upper()} (unrecognised file header)")
    raise RejectedDocument(f"unsupported format '{ext or 'no extension'}' (accepted: PDF, PNG, JPEG, TIFF)")


@dataclass
class _Page:
    page: int
    path: str
    text: str
    language: str
    confidence: float
    rotation: int = 0
    skew: float = 0.0


def _pdf_pages(path: Path, max_pages: int) -> tuple[list[_Page], int]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise RejectedDocument(f"corrupt or encrypted PDF ({exc})") from exc
    try:
        total = len(pdf)
        if total == 0:
            raise RejectedDocument("PDF has no pages")
        pages = []
        for i in range(min(total, max_pages)):
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            textpage.close()
            if len("".join(text.split())) >= MIN_TEXT_LAYER_CHARS:
                pages.append(_Page(i + 1, "text", text.strip(), "text_layer", 100.0))
            else:
                img = page.render(scale=RENDER_DPI / 72).to_pil()
                res = ocr_image(img)
                pages.append(_Page(i + 1, "ocr", res.text, res.language, res.confidence, res.rotation, res.skew))
            page.close()
        return pages, total
    finally:
        pdf.close()


def _image_pages(path: Path, max_pages: int) -> tuple[list[_Page], int]:
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise RejectedDocument(f"unreadable or truncated image ({exc})") from exc
    total = getattr(img, "n_frames", 1)
    pages = []
    for i in range(min(total, max_pages)):
        img.seek(i)
        frame = img.copy()
        if min(frame.size) < MIN_SIDE_PX:
            raise RejectedDocument(f"image too small ({frame.size[0]}x{frame.size[1]} px) to contain text")
        res = ocr_image(frame)
        pages.append(_Page(i + 1, "ocr", res.text, res.language, res.confidence, res.rotation, res.skew))
    return pages, total


def read_document(path: Path, max_pages: int = MAX_PAGES) -> tuple[str, list[_Page], int]:
    """(format, pages, total page count) for one file; raises RejectedDocument with the reason."""
    if not path.exists():
        raise RejectedDocument("file does not exist")
    if not path.is_file():
        raise RejectedDocument("not a regular file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RejectedDocument(f"file too large ({size} bytes > {MAX_FILE_BYTES})")
    fmt = sniff_format(path)
    pages, total = _pdf_pages(path, max_pages) if fmt == "pdf" else _image_pages(path, max_pages)
    return fmt, pages, total


def process_documents(
    paths: Iterable[Path],
    ner: Language,
    customers_df: pd.DataFrame | None = None,
    *,
    known_hashes: Iterable[str] = (),
    inbox: Path | None = None,
    max_pages: int = MAX_PAGES,
    link_threshold: float = 85.0,
) -> IntelBatch:
    """Process a batch of inbox files. Every file ends up in exactly one of: documents (accepted, possibly
    truncated to max_pages), rejects (with the reason), or skipped (sha256 already in known_hashes or
    earlier in this batch). No single bad file stops the batch."""
    known = set(known_hashes)
    docs, pages_rows, fact_frames, rejects, skipped = [], [], [], [], []
    now = pd.Timestamp.now(tz="UTC")

    def reject(path: Path, doc_id: str | None, reason: str) -> None:
        log.warning("rejected %s: %s", path.name, reason)
        rejects.append({"file_name": path.name, "source_path": str(path), "doc_id": doc_id,
                        "reason": reason, "rejected_at": now})

    for path in map(Path, paths):
        doc_id = None
        try:
            check_path(path, inbox)
            if not path.is_file():
                raise RejectedDocument("file does not exist" if not path.exists() else "not a regular file")
            doc_id = sha256_file(path)
            if doc_id in known:
                skipped.append(doc_id)
                continue
            known.add(doc_id)
            t0 = time.monotonic()
            fmt, pages, total = read_document(path, max_pages)
            full_text = "\n".join(p.text for p in pages)
            if not full_text.strip():
                raise RejectedDocument("no text found (blank pages or unreadable scan)")
            share = cjk_share(full_text)
            if share < MIN_CJK_SHARE:
                raise RejectedDocument(f"not a Chinese document (Chinese share of letters {share:.0%})")
        except RejectedDocument as exc:
            reject(path, doc_id, str(exc))
            continue
        except Exception as exc:  # an unexpected library failure on one file must not stop the batch
            log.exception("failed on %s", path.name)
            reject(path, doc_id, f"processing error: {type(exc).__name__}: {exc}")
            continue

        for p in pages:
            pages_rows.append({"doc_id": doc_id, "page": p.page, "path": p.path, "language": p.language,
                               "confidence": p.confidence, "rotation": p.rotation, "skew": p.skew,
                               "chars": len(p.text), "text": p.text})
            fact_frames.append(extract_facts(ner, p.text, doc_id=doc_id, page=p.page))
        ocr_conf = [p.confidence for p in pages if p.path == "ocr" and p.confidence >= 0]
        ocr_langs = sorted({p.language for p in pages if p.path == "ocr"})
        status, note = "ok", None
        if total > len(pages):
            status, note = "truncated", f"{total} pages; only the first {len(pages)} were processed (page cap)"
        docs.append({
            "doc_id": doc_id, "file_name": path.name, "source_path": str(path), "format": fmt,
            "pages": len(pages), "pages_total": total, "page_paths": ",".join(p.path for p in pages),
            "language": "zh", "ocr_languages": ",".join(ocr_langs) or None,
            "mean_confidence": round(sum(ocr_conf) / len(ocr_conf), 2) if ocr_conf else 100.0,
            "status": status, "note": note, "processed_at": now,
        })
        log.info("processed %s (%d pages) in %.1fs", path.name, len(pages), time.monotonic() - t0)

    facts = pd.concat(fact_frames, ignore_index=True) if fact_frames else pd.DataFrame(columns=FACT_COLUMNS)
    if customers_df is not None and len(facts):
        orgs = facts.loc[facts["entity_label"].isin(LINKABLE_LABELS), "value"].dropna().unique().tolist()
        links = link_organisations(orgs, customers_df, link_threshold)
        if len(links):
            by_org = links.set_index("org")
            mask = facts["entity_label"].isin(LINKABLE_LABELS) & facts["value"].isin(by_org.index)
            facts.loc[mask, "linked_customer_id"] = facts.loc[mask, "value"].map(by_org["customer_id"])
            facts.loc[mask, "link_score"] = facts.loc[mask, "value"].map(by_org["score"])
    if customers_df is not None and len(pages_rows):
        extra = gazetteer_facts(pd.DataFrame(pages_rows), facts, customer_gazetteer(customers_df))
        if len(extra):
            facts = pd.concat([facts, extra], ignore_index=True) if len(facts) else extra
    # raw.* tables carry their load time (DESIGN.md naming); doc_id ties pages and facts to _source_file
    return IntelBatch(
        documents=pd.DataFrame(docs, columns=DOCUMENT_COLUMNS).assign(_loaded_at=now),
        pages=pd.DataFrame(pages_rows, columns=PAGE_COLUMNS).assign(_loaded_at=now),
        facts=facts.assign(_loaded_at=now),
        rejects=pd.DataFrame(rejects, columns=REJECT_COLUMNS).assign(_loaded_at=now),
        skipped=skipped,
    )


def gazetteer_facts(pages: pd.DataFrame, facts: pd.DataFrame, gazetteer: dict[str, str]) -> pd.DataFrame:
    """Customer mentions the NER did not tag as an organisation ("九州医院等医疗机构…"), found by the customer-name
    gazetteer, as extra company facts already linked (link_score 100). Spans overlapping an org entity are left
    to the NER link above."""
    rows = []
    for pg in pages.itertuples(index=False):
        on_page = facts[(facts["doc_id"] == pg.doc_id) & (facts["page"] == pg.page)
                        & facts["entity_label"].isin(LINKABLE_LABELS)] if len(facts) else facts
        spans = list(zip(on_page["start"], on_page["end"], strict=True)) if len(on_page) else []
        sentences = split_sentences(pg.text)
        for start, end, surface, customer_id in find_customer_mentions(pg.text, gazetteer):
            if any(s < end and start < e for s, e in spans):
                continue
            sent = next((x for x in sentences if x.start <= start < x.end), None)
            text = sent.text if sent else surface
            ftype, sub, conf = classify_sentence(text)
            rows.append({"doc_id": pg.doc_id, "page": pg.page, "start": start, "end": end, "sentence": text,
                         "fact_type": ftype or "mention", "fact_subtype": sub, "entity_label": "company",
                         "value": surface, "unit": None, "confidence": conf if ftype else 0.5,
                         "linked_customer_id": customer_id, "link_score": 100.0})
    return pd.DataFrame(rows, columns=FACT_COLUMNS)
