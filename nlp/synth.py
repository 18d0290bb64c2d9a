"""Synthetic test pages for the OCR tests and bench: Chinese text rendered to images and PDFs (text layer or
image-only), with optional noise, skew and blur."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
NOTO_CJK_SC_INDEX = 2  # index 0 is the Japanese face
WQY_ZENHEI = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def load_font(size: int, font_path: Path = NOTO_CJK, index: int | None = None) -> ImageFont.FreeTypeFont:
    if not font_path.exists():
        raise FileNotFoundError(f"font not installed: {font_path}")
    idx = index if index is not None else (NOTO_CJK_SC_INDEX if font_path == NOTO_CJK else 0)
    return ImageFont.truetype(str(font_path), size=size, index=idx)


def render_page(lines: list[str], *, font_size: int = 42, font_path: Path = NOTO_CJK, width: int = 2480,
                margin: int = 150, line_gap: float = 1.8, skew: float = 0.0, noise: float = 0.0,
                blur: float = 0.0, rotate90: int = 0, seed: int = 0) -> Image.Image:
    """An A4-width page at 300 dpi (2480 px) with one text line per entry; font_size 42 px is ~10 pt."""
    font = load_font(font_size, font_path)
    height = max(int(2 * margin + len(lines) * font_size * line_gap), 400)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * font_size * line_gap), line, font=font, fill=0)
    if skew:
        img = img.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=255)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        rng = np.random.default_rng(seed)
        arr = np.asarray(img, dtype=np.float32) + rng.normal(0, noise * 255, (img.size[1], img.size[0]))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rotate90:
        img = img.rotate(rotate90, expand=True, fillcolor=255)
    return img


def image_pdf(images: list[Image.Image], path: Path, dpi: int = 300) -> Path:
    """An image-only (scanned-style) PDF, one image per page, no text layer."""
    images = [im.convert("RGB") for im in images]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return path


def text_pdf(pages: list[list[str]], path: Path, font_size: int = 11) -> Path:
    """A digital PDF with a real text layer, using reportlab's built-in CID font (no font file needed)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    _w, h = A4
    for lines in pages:
        c.setFont("STSong-Light", font_size)
        y = h - 72
        for line in lines:
            c.drawString(60, y, line)
            y -= font_size * 1.8
        c.showPage()
    c.save()
    return path
