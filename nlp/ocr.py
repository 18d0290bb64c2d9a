"""OCR of one page image with tesseract: orientation fix, deskew, per-page language choice and confidence.

Language choice: tesseract's chi_sim model alone reads Chinese-only pages better than chi_sim+eng (STACK-NOTES:
3.2% vs 4.8% CER), so every page is read with chi_sim first. If that pass finds mostly Latin script (CJK share
of letters < 30%) the page is re-read with eng, and with chi_sim+eng when it is mixed (30-80%); the pass with
the higher mean word confidence is kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import pytesseract
from PIL import Image, ImageOps

_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
# tesseract's chi_sim output puts spaces between CJK characters; they are not in the source text
_CJK_CLASS = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_CJK_SPACE = re.compile(rf"(?<={_CJK_CLASS})[ \t]+(?=\S)|(?<=\S)[ \t]+(?={_CJK_CLASS})")
MIN_SIDE_PX = 32
LOW_CONFIDENCE = 60.0  # below this mean word confidence a page may be sideways or upside down
BLOCK_PSM = 6  # tesseract page segmentation: one uniform block of text
LAYOUT_PSM = 3  # automatic page layout analysis
LAYOUT_RETRY_CONFIDENCE = 85.0  # a block reading below this is retried with layout analysis


@dataclass(frozen=True)
class OcrResult:
    text: str
    language: str
    confidence: float  # mean word confidence 0-100 (tesseract), -1 when no words
    rotation: int  # degrees the page was rotated to read upright
    skew: float  # degrees of deskew applied


def cjk_share(text: str) -> float:
    """Share of CJK characters among CJK + Latin letters (1.0 = all Chinese; 0.0 when no letters)."""
    cjk = len(_CJK_RE.findall(text))
    lat = len(_LATIN_RE.findall(text))
    return cjk / (cjk + lat) if cjk + lat else 0.0


def clean_ocr_text(text: str) -> str:
    text = _CJK_SPACE.sub("", text)
    lines = [ln.strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln)


def _tess_config(psm: int) -> str:
    return f"--psm {psm}"


def detect_rotation(img: Image.Image) -> int:
    """Clockwise rotation tesseract's OSD reports (0/90/180/270); 0 when OSD cannot tell (little text)."""
    try:
        osd = pytesseract.image_to_osd(img, config="--psm 0 -c min_characters_to_try=10",
                                       output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:
        return 0
    return int(osd.get("rotate", 0)) % 360


def estimate_skew(gray: Image.Image, max_angle: float = 6.0, step: float = 0.5) -> float:
    """Skew angle by projection profile: the rotation that makes row ink sums most peaked (text lines level)."""
    small = gray.copy()
    small.thumbnail((700, 700))
    arr = np.asarray(small, dtype=np.float32)
    ink = arr < (arr.mean() - 2 * arr.std() if arr.std() > 0 else 128)
    if ink.mean() < 0.002:
        return 0.0
    ink_img = Image.fromarray((ink * 255).astype(np.uint8))
    best, best_score = 0.0, -1.0
    for angle in np.arange(-max_angle, max_angle + 1e-9, step):
        rows = np.asarray(ink_img.rotate(float(angle), resample=Image.NEAREST, expand=False), dtype=np.float32).sum(1)
        score = float(np.var(rows))
        if score > best_score:
            best, best_score = float(angle), score
    return best


def _read(img: Image.Image, lang: str, psm: int) -> tuple[str, float]:
    data = pytesseract.image_to_data(img, lang=lang, config=_tess_config(psm), output_type=pytesseract.Output.DICT)
    confs = [float(c) for c, w in zip(data["conf"], data["text"], strict=True) if float(c) >= 0 and w.strip()]
    # rebuild lines from the word boxes so one pass gives both text and confidence
    lines: dict[tuple[int, int, int], list[str]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip():
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            lines.setdefault(key, []).append(word)
    text = "\n".join(" ".join(ws) for _k, ws in sorted(lines.items()))
    return clean_ocr_text(text), (float(np.mean(confs)) if confs else -1.0)


def ocr_image(img: Image.Image, psm: int | None = None, fix_orientation: bool = True, deskew: bool = True) -> OcrResult:
    """OCR one page. Raises ValueError for images too small to hold text.

    Without ``psm`` the page is read as one block of text (tesseract --psm 6), and when that reading is not
    confident (columns, tables, scattered text) also with automatic layout analysis (--psm 3), keeping the more
    confident reading. Measured on the bench's pages (bench/results/nlp.json): automatic layout alone split
    single-column scans into fragments, CER 5.0% vs 1.1% on the demo's scans, 5.5% vs 1.2% on the hard set.
    """
    if min(img.size) < MIN_SIDE_PX:
        raise ValueError(f"image too small for OCR ({img.size[0]}x{img.size[1]} px, need >= {MIN_SIDE_PX})")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's OpenMP would take every core
    gray = ImageOps.exif_transpose(img).convert("L")
    auto = psm is None
    psm = psm or BLOCK_PSM
    res = _read_upright(gray, psm, deskew)
    if auto and res.confidence < LAYOUT_RETRY_CONFIDENCE:
        alt = _read_upright(gray, LAYOUT_PSM, deskew)
        if alt.confidence > res.confidence:
            res, psm = alt, LAYOUT_PSM
    if fix_orientation and res.confidence < LOW_CONFIDENCE:
        # OSD is weak on CJK (confidence often < 2 even when right), so its answer is only a candidate:
        # re-read rotated and keep whichever reading tesseract is more confident about
        rotation = detect_rotation(gray)
        if rotation:
            alt = _read_upright(gray.rotate(-rotation, expand=True, fillcolor=255), psm, deskew)
            if alt.confidence > res.confidence:
                res = OcrResult(alt.text, alt.language, alt.confidence, rotation, alt.skew)
    return res


def _read_upright(gray: Image.Image, psm: int, deskew: bool) -> OcrResult:
    skew = estimate_skew(gray) if deskew else 0.0
    if abs(skew) >= 0.5:
        gray = gray.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=255)
    text, conf = _read(gray, "chi_sim", psm)
    lang = "chi_sim"
    share = cjk_share(text)
    if text and share < 0.8:
        alt_lang = "eng" if share < 0.3 else "chi_sim+eng"
        alt_text, alt_conf = _read(gray, alt_lang, psm)
        if alt_conf > conf:
            text, conf, lang = alt_text, alt_conf, alt_lang
    return OcrResult(text=text, language=lang, confidence=round(conf, 2), rotation=0, skew=skew)
