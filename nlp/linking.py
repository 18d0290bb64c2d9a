"""Link organisation mentions to CRM customers by fuzzy name match after stripping legal suffixes and branches."""

from __future__ import annotations

import re

import pandas as pd
from rapidfuzz import fuzz

_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
# a branch is a 2-char place (杭州, 上海市) plus a branch word; longer places are left for the fuzzy match
_BRANCH = re.compile(r"[\u4e00-\u9fff]{2}[省市]?(?:分公司|分行|支行|办事处|营业部|分厂)$")
_LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份", "有限公司", "集团公司", "控股集团", "集团", "控股",
    "股份公司", "公司", "co., ltd.", "co.,ltd.", "co. ltd", "ltd.", "ltd", "inc.", "inc", "corp.", "corp",
    "group", "limited",
)
_SPLIT_ALIASES = re.compile(r"[;；,，、|/]")
LINK_COLUMNS = ["org", "customer_id", "customer_name", "matched_name", "score"]


def normalise_org(name: str) -> str:
    """Strip brackets (地名 qualifiers), a trailing branch, then legal suffixes, repeatedly."""
    s = _BRACKETS.sub("", str(name)).strip().lower().replace(" ", "")
    s = _BRANCH.sub("", s)
    changed = True
    while changed and s:
        changed = False
        for suf in _LEGAL_SUFFIXES:
            if s.endswith(suf.replace(" ", "")) and len(s) > len(suf):
                s = s[: -len(suf.replace(" ", ""))]
                changed = True
    return s


def _aliases(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if str(v).strip()]
    return [a.strip() for a in _SPLIT_ALIASES.split(str(value)) if a.strip()]


def _score(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b)
    short, long_ = sorted((a, b), key=len)
    # containment of a 3+ char core ("华海药业" in "浙江华海药业") is strong evidence, but not full
    if len(short) >= 3 and short in long_:
        score = max(score, 92.0)
    return float(score)


def link_organisations(orgs: list[str], customers_df: pd.DataFrame, threshold: float = 85.0) -> pd.DataFrame:
    """Best customer per org mention with score >= threshold (0-100). Returns LINK_COLUMNS; unmatched orgs
    are omitted. customers_df needs columns id, name and optionally aliases (list or 、;,-separated string)."""
    missing = {"id", "name"} - set(customers_df.columns)
    if missing:
        raise ValueError(f"customers_df is missing column(s) {sorted(missing)}")
    candidates: list[tuple[str, str, str, str]] = []  # normalised, raw, customer id, customer name
    has_aliases = "aliases" in customers_df.columns
    for row in customers_df.itertuples(index=False):
        names = [str(row.name), *(_aliases(row.aliases) if has_aliases else [])]
        for n in names:
            candidates.append((normalise_org(n), n, row.id, str(row.name)))
    rows = []
    for org in dict.fromkeys(orgs):
        norm = normalise_org(org)
        best = max(((_score(norm, c[0]), c) for c in candidates), default=(0.0, None), key=lambda t: t[0])
        if best[1] is not None and best[0] >= threshold:
            _n, raw, cid, cname = best[1]
            rows.append({"org": org, "customer_id": cid, "customer_name": cname, "matched_name": raw,
                         "score": round(best[0], 1)})
    return pd.DataFrame(rows, columns=LINK_COLUMNS)


# Trailing words that name the line of business, not the company: "九州医院管理" is called "九州医院" in documents.
_GENERIC_TAILS = ("供应链管理", "商业连锁", "物业服务", "医院管理", "酒店管理", "管理", "服务", "连锁", "科技")
_KEEP_TAIL = {"医院管理": "医院", "酒店管理": "酒店"}
MIN_GAZETTEER_CHARS = 4  # 2-3 character names ("光明", "九州") are ordinary words in running text


def name_variants(name: str, city: str | None = None) -> set[str]:
    """The spellings a document may use for a registered name: without brackets, branch and legal suffixes,
    without the leading city, and without a trailing line-of-business word."""
    base = normalise_org(name)
    out = {base}
    if city:
        c = str(city).strip().lower()
        for cand in (c, c.rstrip("市")):
            if cand and base.startswith(cand) and len(base) - len(cand) >= 2:
                out.add(base[len(cand):])
    for v in list(out):
        for tail in _GENERIC_TAILS:
            if v.endswith(tail) and len(v) > len(tail) + 1:
                out.add(v[: -len(tail)] + _KEEP_TAIL.get(tail, ""))
    return {v for v in out if len(v) >= MIN_GAZETTEER_CHARS}


def customer_gazetteer(customers_df: pd.DataFrame) -> dict[str, str]:
    """Name variant -> customer id for every customer name and alias in customers_df (columns id, name, optional
    aliases and city). A variant shared by two customers is dropped: it cannot say which one is meant."""
    missing = {"id", "name"} - set(customers_df.columns)
    if missing:
        raise ValueError(f"customers_df is missing column(s) {sorted(missing)}")
    owners: dict[str, set[str]] = {}
    has_aliases, has_city = "aliases" in customers_df.columns, "city" in customers_df.columns
    for row in customers_df.itertuples(index=False):
        city = row.city if has_city and isinstance(row.city, str) else None
        for n in [str(row.name), *(_aliases(row.aliases) if has_aliases else [])]:
            for v in name_variants(n, city):
                owners.setdefault(v, set()).add(str(row.id))
    return {v: next(iter(ids)) for v, ids in owners.items() if len(ids) == 1}


def find_customer_mentions(text: str, gazetteer: dict[str, str]) -> list[tuple[int, int, str, str]]:
    """(start, end, surface text, customer id) for every gazetteer name in text, longest match first, no overlaps.
    Line breaks inside a name (wrapped PDF lines, OCR) are ignored; offsets refer to the original text."""
    keep = [i for i, ch in enumerate(text) if ch not in "\r\n"]
    flat = "".join(text[i] for i in keep).lower()
    taken = [False] * len(flat)
    found = []
    for variant in sorted(gazetteer, key=len, reverse=True):
        start = flat.find(variant)
        while start >= 0:
            end = start + len(variant)
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                s, e = keep[start], keep[end - 1] + 1
                found.append((s, e, text[s:e], gazetteer[variant]))
            start = flat.find(variant, start + 1)
    return sorted(found)
