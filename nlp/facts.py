"""Text -> facts: split into sentences, classify each into fact types with a weighted keyword method, and emit
one row per entity (or one per classified sentence without entities) shaped for ``raw.intel_facts``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from spacy.language import Language

FACT_COLUMNS = [
    "doc_id", "page", "start", "end", "sentence", "fact_type", "fact_subtype",
    "entity_label", "value", "unit", "confidence", "linked_customer_id", "link_score",
]

# fact type -> subtype -> weighted cues. Weights: 2 = the cue nearly decides the type, 1 = supporting.
FACT_CUES: dict[str, dict[str, dict[str, float]]] = {
    "policy_measure": {
        "subsidy": {"补贴": 2, "补助": 2, "奖励资金": 2, "专项资金": 2, "扶持": 1.5, "税收优惠": 2, "减免": 1.5,
                    "贴息": 2, "奖补": 2, "以旧换新": 1.5},
        "standard": {"标准": 1.5, "GB/T": 2, "GB ": 1, "规范": 1, "强制性": 1.5, "能效等级": 1.5, "准入条件": 1.5,
                     "实施": 0.5},
        "restriction": {"禁止": 2, "限制": 1.5, "淘汰": 2, "不得": 1.5, "限产": 2, "关停": 2, "停产整治": 2,
                        "严禁": 2, "整改": 1, "环保督察": 1.5},
    },
    "financial_risk": {
        "risk_disclosure": {"风险": 1.5, "亏损": 2, "逾期": 2, "违约": 2, "债务": 1.5, "诉讼": 1.5, "资金链": 2,
                            "减值": 2, "流动性": 1.5, "被执行": 2, "冻结": 1.5, "担保": 1, "商誉": 1,
                            "应收账款": 1, "下滑": 1, "破产": 2, "重整": 1.5, "st": 0.5},
    },
    "capacity_change": {
        "capacity": {"产线": 2, "生产线": 2, "产能": 2, "扩产": 2, "投产": 2, "技改": 2, "升级改造": 1.5,
                     "新建": 1, "减产": 2, "停产": 1.5, "产量": 1.5, "开工率": 2, "达产": 2, "项目开工": 1.5,
                     "万吨": 1, "基地": 1},
    },
    "esg_carbon": {
        "carbon": {"碳达峰": 2, "碳中和": 2, "减排": 2, "碳排放": 2, "双碳": 2, "ESG": 2, "绿色": 1,
                   "能耗": 1.5, "光伏": 1, "清洁能源": 1.5, "节能": 1.5, "可再生": 1.5, "碳足迹": 2},
    },
    "demand_signal": {
        "demand": {"采购": 2, "招标": 2, "中标": 2, "订单": 1.5, "需求": 1.5, "询价": 2, "意向": 1,
                   "增购": 2, "框架协议": 1.5, "集采": 2, "备货": 1.5, "扩大": 0.5},
    },
}
FACT_TYPES = list(FACT_CUES)
_MIN_SCORE = 1.5  # below this a sentence is not classified (one weak cue is not evidence)

_SENT_END = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    out = []
    for m in _SENT_END.finditer(text):
        chunk = m.group(0)
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append(Sentence(m.start() + lead, m.end(), chunk.strip()))
    return out


def classify_sentence(sentence: str) -> tuple[str | None, str | None, float]:
    """(fact_type, subtype, confidence in [0,1]) for one sentence; (None, None, 0) when no type scores enough."""
    low = sentence.lower()
    best: tuple[str | None, str | None, float] = (None, None, 0.0)
    for ftype, subtypes in FACT_CUES.items():
        for sub, cues in subtypes.items():
            score = sum(w for cue, w in cues.items() if cue.lower() in low)
            if score > best[2]:
                best = (ftype, sub, score)
    if best[2] < _MIN_SCORE:
        return None, None, 0.0
    # confidence saturates: one decisive cue -> 0.6, three -> ~0.9
    conf = 1.0 - 0.6 ** (best[2] / 1.5 + 0.8)
    return best[0], best[1], round(min(conf, 0.99), 3)


ENTITY_LABELS_FOR_FACTS = {
    "company", "organization", "government", "name", "position", "address", "scene",
    "POLICY", "STANDARD", "MONEY", "PERCENT", "QUANTITY", "DATE", "DEADLINE",
}


def extract_facts(nlp: Language, text: str, doc_id: str = "", page: int = 1) -> pd.DataFrame:
    """Run the pipeline over a page of text; return rows in FACT_COLUMNS (linked_customer_id left empty)."""
    rows = []
    for sent in split_sentences(text):
        ftype, sub, conf = classify_sentence(sent.text)
        doc = nlp(sent.text)
        units = {(m.start, m.end): (m.value, m.unit) for m in (doc._.rule_matches or [])}
        ents = [e for e in doc.ents if e.label_ in ENTITY_LABELS_FOR_FACTS]
        if not ents and ftype is None:
            continue
        for ent in ents:
            value, unit = units.get((ent.start_char, ent.end_char), (ent.text, None))
            rows.append({
                "doc_id": doc_id, "page": page,
                "start": sent.start + ent.start_char, "end": sent.start + ent.end_char,
                "sentence": sent.text, "fact_type": ftype or "mention", "fact_subtype": sub,
                "entity_label": ent.label_, "value": value if unit else ent.text, "unit": unit,
                "confidence": conf if ftype else 0.5, "linked_customer_id": None, "link_score": None,
            })
        if not ents:
            rows.append({
                "doc_id": doc_id, "page": page, "start": sent.start, "end": sent.end, "sentence": sent.text,
                "fact_type": ftype, "fact_subtype": sub, "entity_label": None, "value": None, "unit": None,
                "confidence": conf, "linked_customer_id": None, "link_score": None,
            })
    return pd.DataFrame(rows, columns=FACT_COLUMNS)
