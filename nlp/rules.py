"""Pattern rules for the entities that regexes find better than a model: amounts, percentages, dates and
deadlines, quantities, policy titles (《…》), standard numbers (GB/T …), and suffix-anchored company and
government names as a fallback for the trained NER.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc

_NUM = r"(?:\d+(?:[,，]\d{3})*(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?)"
_CJK = r"[\u4e00-\u9fff]"
# a name character: CJK but not a function word/verb that usually sits between a name and the text before it
_NAME_CH = r"(?:(?![的与和及在对向称据从了])[\u4e00-\u9fff])"

# (label, compiled pattern, unit group name or None); order = priority for overlapping matches of equal length
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("POLICY", re.compile(r"《[^《》\n]{1,60}》")),
    ("STANDARD", re.compile(r"(?<![A-Za-z])(?:GB|GB/T|GB/Z|[A-Z]{2}/T|T/[A-Z]{2,10})\s?\d{2,6}(?:\.\d+)?(?:[-—]\d{4})?")),
    ("MONEY", re.compile(rf"(?P<num>{_NUM})\s?(?P<unit>万亿元|千亿元|百亿元|亿元|千万元|百万元|万元|亿美元|万美元|美元|元|亿)")),
    ("PERCENT", re.compile(rf"(?:(?P<num>{_NUM})\s?(?P<unit>%|％|个百分点)|百分之(?P<num2>{_NUM}))")),
    ("QUANTITY", re.compile(
        rf"(?P<num>{_NUM})\s?(?P<unit>万吨|吨|万台|台|万套|套|条|万千瓦|千瓦时|千瓦|GWh|GW|MW|kWh|万平方米|平方米|万件|件)"
        r"(?![\u4e00-\u9fff]{0,1}[公司])")),
    ("DEADLINE", re.compile(
        r"(?:截至|截止|于|在|到)?(?P<date>\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}月\d{1,2}日|\d{1,2}月)"
        r"(?:底|末)?(?:前|之前|以前)")),
    ("DATE", re.compile(
        r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?(?:底|末|上半年|下半年|第[一二三四]季度)?"
        r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}月\d{1,2}日")),
    ("company", re.compile(
        rf"{_NAME_CH}{{2,16}}?(?:股份有限公司|有限责任公司|有限公司|集团(?:公司)?|控股)(?:{_CJK}{{2,6}}分公司)?")),
    ("government", re.compile(
        r"(?:国务院|国家发展和改革委员会|国家发展改革委|国家发改委|工业和信息化部|工信部|财政部|商务部|生态环境部|"
        r"国家市场监督管理总局|国家市场监管总局|国家能源局|科技部|人民银行|中国人民银行|证监会|银保监会|国资委|"
        r"[\u4e00-\u9fff]{2,8}?(?:省|市|自治区|县|区)(?:人民政府|发展和改革委员会|发改委|工业和信息化厅|工信厅|经信委|"
        r"生态环境厅|生态环境局|财政厅|财政局|市场监督管理局|商务厅|商务局|能源局|科技厅|科技局))")),
]

RULE_LABELS = [label for label, _ in _PATTERNS]


@dataclass(frozen=True)
class RuleMatch:
    start: int
    end: int
    label: str
    value: str
    unit: str | None


def find_patterns(text: str) -> list[RuleMatch]:
    """All rule matches in text, overlaps resolved longest-first (ties: earlier pattern wins)."""
    found: list[tuple[int, int, int, RuleMatch]] = []
    for prio, (label, pat) in enumerate(_PATTERNS):
        for m in pat.finditer(text):
            if m.end() <= m.start():
                continue
            groups = m.groupdict()
            unit = groups.get("unit")
            value = groups.get("num") or groups.get("num2") or groups.get("date") or m.group(0)
            if label == "PERCENT" and unit is None:
                unit = "%"
            found.append((m.start(), m.end(), prio, RuleMatch(m.start(), m.end(), label, value, unit)))
    found.sort(key=lambda f: (-(f[1] - f[0]), f[2], f[0]))
    taken = [False] * (len(text) + 1)
    kept: list[RuleMatch] = []
    for s, e, _p, rm in found:
        if any(taken[s:e]):
            continue
        for i in range(s, e):
            taken[i] = True
        kept.append(rm)
    return sorted(kept, key=lambda r: r.start)


if not Doc.has_extension("rule_matches"):
    Doc.set_extension("rule_matches", default=None)


@Language.factory("lodestar_rules", default_config={"override_labels": list(RULE_LABELS[:7])})
def make_rules(nlp: Language, name: str, override_labels: list[str]) -> RuleComponent:
    return RuleComponent(name, set(override_labels))


class RuleComponent:
    """Adds rule entities to doc.ents. Pattern-like labels override overlapping model entities (a 《…》 title
    is a POLICY even if the model says book); company/government rules compete with the model by length."""

    def __init__(self, name: str, override_labels: set[str]) -> None:
        self.name = name
        self.override_labels = override_labels

    def __call__(self, doc: Doc) -> Doc:
        matches = find_patterns(doc.text)
        doc._.rule_matches = matches
        strong, weak = [], []
        for m in matches:
            span = doc.char_span(m.start, m.end, label=m.label, alignment_mode="expand")
            if span is None:
                continue
            (strong if m.label in self.override_labels else weak).append(span)
        taken = {i for sp in strong for i in range(sp.start, sp.end)}
        model = [e for e in doc.ents if not any(i in taken for i in range(e.start, e.end))]
        weak = [w for w in weak if not any(i in taken for i in range(w.start, w.end))]
        # a suffix-anchored name (某某股份有限公司, 某市财政局) beats a model span that cuts across it; a model
        # span that contains the whole rule match is kept (it is the longer reading of the same name)
        model = [e for e in model if not any(
            e.start < w.end and w.start < e.end and not (e.start <= w.start and w.end <= e.end) for w in weak)]
        ents = strong + spacy.util.filter_spans([*model, *weak])
        doc.ents = spacy.util.filter_spans(ents)
        return doc


def add_rules(nlp: Language) -> None:
    nlp.add_pipe("lodestar_rules", last=True)
