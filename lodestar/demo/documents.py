"""Chinese industry documents (policy notices, annual-report excerpts) as text PDFs and scans, with truth."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lodestar.demo.common import rng
from lodestar.demo.master import Master

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_INDEX = 2  # Simplified Chinese face in the collection
LINE_CHARS = 34
LINES_PER_PAGE = 24


def _unbreakable(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "%./-") or ch in "万亿元年月日"


def _wrap(paragraphs: list[str]) -> list[str]:
    lines = []
    for p in paragraphs:
        while len(p) > LINE_CHARS:
            cut = LINE_CHARS
            # Never split a number, standard code or percentage across lines: extraction would break it.
            while cut > 1 and _unbreakable(p[cut - 1]) and _unbreakable(p[cut]):
                cut -= 1
            lines.append(p[:cut])
            p = p[cut:]
        lines.append(p)
    return lines


def _pages(paragraphs: list[str]) -> list[list[str]]:
    lines = _wrap(paragraphs)
    return [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]


def _specs(m: Master) -> list[dict]:
    c = m.customers
    retail = c[c.channel == "retail"].iloc[0]
    food = c[c.customer_id.isin(m.events.customer_id[m.events.event_type == "production_line_upgrade"])]
    food = food.iloc[0] if len(food) else c[c.industry == "食品制造"].iloc[0]
    hotel = c[c.industry == "酒店"].iloc[0]
    hosp = c[c.industry == "医疗机构"].iloc[0]
    dist = c[c.channel == "distributor"].iloc[0]
    ra, fa, ha, pa, da = (f"{x.brand}{s}" for x, s in ((retail, "超市"), (food, "食品"), (hotel, "酒店"),
                                                         (hosp, "医院"), (dist, "商贸")))
    return [
        {"doc_id": "DOC01", "doc_type": "policy_notice", "render": "text_pdf",
         "title": "关于印发《公共机构绿色清洁用品采购实施方案》的通知",
         "paragraphs": ["关于印发《公共机构绿色清洁用品采购实施方案》的通知",
                        "各省、自治区、直辖市机关事务管理局：",
                        "为推进公共机构绿色低碳转型，现将《公共机构绿色清洁用品采购实施方案》印发给你们，请认真贯彻执行。",
                        "一、采购的洗涤用品应符合GB/T 26396-2011《洗涤用品安全技术规范》，消毒剂应符合GB 27952-2020《普通物体表面消毒剂通用要求》。",
                        "二、中央财政安排专项补贴资金500万元，用于支持试点单位更换绿色清洁用品。",
                        "三、各试点单位应于2027年3月31日前完成首批采购并报送实施情况。",
                        f"四、{pa}等医疗机构作为首批试点单位，应优先采购通过绿色产品认证的清洁消毒用品。"],
         "facts": {"policy_names": ["公共机构绿色清洁用品采购实施方案"], "standards": ["GB/T 26396-2011", "GB 27952-2020"],
                   "amounts": ["500万元"], "deadlines": ["2027年3月31日"],
                   "customers": [{"customer_id": hosp.customer_id, "alias": pa}]}},
        {"doc_id": "DOC02", "doc_type": "policy_notice", "render": "text_pdf",
         "title": "关于进一步加强塑料污染治理的实施意见",
         "paragraphs": ["关于进一步加强塑料污染治理的实施意见",
                        "依据《塑料污染全链条治理行动方案（2026—2028年）》，现提出如下实施意见。",
                        "一、自2026年12月31日起，全省商超、酒店禁止使用不可降解塑料购物袋和一次性塑料垃圾袋。",
                        "二、生物降解购物袋应符合GB/T 38082-2019《生物降解塑料购物袋》，食品接触用塑料应符合GB 4806.7-2016。",
                        "三、省级财政安排1.2亿元专项资金，对替代产品生产企业给予设备改造补贴，单个企业最高300万元。",
                        f"四、{ra}、{ha}等重点零售和住宿企业应于2027年6月30日前完成替代。"],
         "facts": {"policy_names": ["塑料污染全链条治理行动方案（2026—2028年）"],
                   "standards": ["GB/T 38082-2019", "GB 4806.7-2016"], "amounts": ["1.2亿元", "300万元"],
                   "deadlines": ["2026年12月31日", "2027年6月30日"],
                   "customers": [{"customer_id": retail.customer_id, "alias": ra},
                                 {"customer_id": hotel.customer_id, "alias": ha}]}},
        {"doc_id": "DOC03", "doc_type": "policy_notice", "render": "text_pdf",
         "title": "关于开展医疗机构环境清洁消毒专项整治的通知",
         "paragraphs": ["关于开展医疗机构环境清洁消毒专项整治的通知",
                        "为落实《医疗机构感染预防与控制基本制度（试行）》，决定开展为期一年的专项整治。",
                        "各医疗机构应按照WS/T 512-2016《医疗机构环境表面清洁与消毒管理规范》和GB 15982-2012《医院消毒卫生标准》开展自查。",
                        "省卫生健康委安排专项经费3800万元，用于二级以上医院采购合规消毒产品。",
                        "请于2027年1月15日前报送自查报告。"],
         "facts": {"policy_names": ["医疗机构感染预防与控制基本制度（试行）"], "standards": ["WS/T 512-2016", "GB 15982-2012"],
                   "amounts": ["3800万元"], "deadlines": ["2027年1月15日"], "customers": []}},
        {"doc_id": "DOC04", "doc_type": "annual_report", "render": "text_pdf",
         "title": f"{retail.legal_name}2025年年度报告（节选）",
         "paragraphs": [f"{retail.legal_name}2025年年度报告（节选）",
                        "第三节 管理层讨论与分析",
                        "报告期内公司新开门店45家，关闭低效门店12家，期末门店总数达到386家。",
                        "风险提示：一、原材料及商品采购价格波动风险；二、应收账款回收风险；三、消费需求放缓风险。",
                        "公司承诺2030年前实现碳达峰，单位营业收入能耗较2025年下降18%。",
                        f"公司与主要清洁用品供应商签订年度框架协议，{ra}门店清洁用品统一集中采购。"],
         "facts": {"risks": ["原材料及商品采购价格波动风险", "应收账款回收风险", "消费需求放缓风险"],
                   "capacity_changes": ["新开门店45家", "关闭低效门店12家"], "carbon_targets": ["2030年前实现碳达峰",
                                                                                   "单位营业收入能耗较2025年下降18%"],
                   "customers": [{"customer_id": retail.customer_id, "alias": ra}]}},
        {"doc_id": "DOC05", "doc_type": "annual_report", "render": "text_pdf",
         "title": f"{food.legal_name}2025年年度报告（节选）",
         "paragraphs": [f"{food.legal_name}2025年年度报告（节选）",
                        "重大投资项目：公司投资2.3亿元建设智能化包装产线，项目完成后产能提升35%。",
                        "产线升级改造计划于2026年12月至2027年1月实施，改造期间相关产线停产。",
                        "风险提示：产线升级期间产量下降的风险；食品安全风险；原材料价格上涨风险。",
                        "公司计划2028年实现包装材料100%可回收，单位产品碳排放下降20%。",
                        f"{fa}将继续加强与上游包装材料供应商的战略合作。"],
         "facts": {"risks": ["产线升级期间产量下降的风险", "食品安全风险", "原材料价格上涨风险"], "amounts": ["2.3亿元"],
                   "capacity_changes": ["产能提升35%", "产线升级改造计划于2026年12月至2027年1月实施"],
                   "carbon_targets": ["2028年实现包装材料100%可回收", "单位产品碳排放下降20%"],
                   "customers": [{"customer_id": food.customer_id, "alias": fa}]}},
        {"doc_id": "DOC06", "doc_type": "policy_notice", "render": "scan_png",
         "title": "关于申报2027年度绿色制造专项资金的通知",
         "paragraphs": ["关于申报2027年度绿色制造专项资金的通知",
                        "根据《绿色制造专项资金管理办法》，现组织申报2027年度项目。",
                        "申报企业须通过GB/T 36132-2018《绿色工厂评价通则》评价。",
                        "单个项目补贴不超过200万元，申报截止日期为2027年1月15日。"],
         "facts": {"policy_names": ["绿色制造专项资金管理办法"], "standards": ["GB/T 36132-2018"],
                   "amounts": ["200万元"], "deadlines": ["2027年1月15日"], "customers": []}},
        {"doc_id": "DOC07", "doc_type": "industry_news", "render": "scan_png",
         "title": "清洁用品行业简报（2026年11月）",
         "paragraphs": ["清洁用品行业简报（2026年11月）",
                        "蓝月亮宣布在华南新建年产20万吨的洗涤剂生产基地，预计2027年投产。",
                        "维达下调商用纸品出厂价约5%，行业价格竞争加剧。",
                        f"据了解，{da}已开始代理立白商用清洁系列产品。"],
         "facts": {"competitors": ["蓝月亮", "维达", "立白"], "capacity_changes": ["年产20万吨的洗涤剂生产基地"],
                   "customers": [{"customer_id": dist.customer_id, "alias": da}]}},
        {"doc_id": "DOC08", "doc_type": "annual_report", "render": "scan_pdf",
         "title": f"{hotel.legal_name}2025年社会责任报告（节选）",
         "paragraphs": [f"{hotel.legal_name}2025年社会责任报告（节选）",
                        "报告期内新开业酒店60家，客房总数增加9200间。",
                        "公司目标在2028年前实现一次性用品使用量减少30%，2035年实现运营碳中和。",
                        "风险提示：行业竞争加剧风险；人工成本上升风险。",
                        f"{ha}计划将客房清洁用品全面更换为可降解产品。"],
         "facts": {"risks": ["行业竞争加剧风险", "人工成本上升风险"], "capacity_changes": ["新开业酒店60家"],
                   "carbon_targets": ["2028年前实现一次性用品使用量减少30%", "2035年实现运营碳中和"],
                   "customers": [{"customer_id": hotel.customer_id, "alias": ha}]}},
    ]


def _text_pdf(pages: list[list[str]]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)  # invariant: no timestamps or random ids
    for page in pages:
        c.setFont("STSong-Light", 14)
        y = A4[1] - 80
        for line in page:
            c.drawString(60, y, line)
            y -= 26
        c.showPage()
    c.save()
    return buf.getvalue()


def _scan(lines: list[str], r: np.random.Generator) -> Image.Image:
    """A page rendered at ~300 dpi (A4 width), slightly skewed, with speckle noise like a scanner."""
    font = ImageFont.truetype(str(CJK_FONT), 46, index=CJK_FONT_INDEX)
    width, line_h = 2480, 78
    img = Image.new("L", (width, 260 + line_h * len(lines)), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((160, 130 + i * line_h), line, font=font, fill=20)
    img = img.rotate(float(r.uniform(-0.8, 0.8)), resample=Image.BICUBIC, expand=False, fillcolor=255)
    arr = np.asarray(img).copy()
    speckle = r.random(arr.shape) < 0.0015
    arr[speckle] = r.integers(0, 120, int(speckle.sum()))
    return Image.fromarray(arr, mode="L")


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _image_pdf(images: list[Image.Image]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for img in images:
        w = A4[0]
        h = w * img.height / img.width
        c.drawImage(ImageReader(img.convert("RGB")), 0, A4[1] - h, width=w, height=h)
        c.showPage()
    c.save()
    return buf.getvalue()


def write_documents(m: Master, out_dir: Path, seed: int) -> list[dict]:
    """Write the documents under out_dir/documents; returns the truth records (one per document)."""
    r = rng(seed, "documents")
    doc_dir = out_dir / "documents"
    doc_dir.mkdir(parents=True, exist_ok=True)
    truth = []
    for spec in _specs(m):
        pages = _pages(spec["paragraphs"])
        files = []
        if spec["render"] == "text_pdf":
            name = f"{spec['doc_id']}.pdf"
            (doc_dir / name).write_bytes(_text_pdf(pages))
            files.append(name)
        elif spec["render"] == "scan_png":
            for k, page in enumerate(pages):
                name = f"{spec['doc_id']}_p{k + 1}.png"
                (doc_dir / name).write_bytes(_png_bytes(_scan(page, r)))
                files.append(name)
        else:
            name = f"{spec['doc_id']}_scan.pdf"
            (doc_dir / name).write_bytes(_image_pdf([_scan(p, r) for p in pages]))
            files.append(name)
        truth.append({"doc_id": spec["doc_id"], "doc_type": spec["doc_type"], "render": spec["render"],
                      "title": spec["title"], "files": files, "pages": ["\n".join(p) for p in pages],
                      "facts": spec["facts"]})
    return truth
