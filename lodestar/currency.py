"""Money as the company states it: amounts carry the company file's currency (``marts.customer_360.currency``, the
lodestar.yaml ``currency``; CNY for the demo) wherever the cockpit or a value report shows them.

The cockpit speaks Chinese or English, the value report both at once; an ISO code reads the same in both, so an
amount is ``1,234,567 CNY``; the Chinese words a reader expects for the common currencies (元, 美元 …) stand in
the Chinese label of a unit (``万元``, ``金额 amount (元 CNY)``).
"""

from __future__ import annotations

import math

DEFAULT = "CNY"  # the demo's; a company file without a currency says nothing else
ZH_WORDS = {"CNY": "元", "RMB": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元", "GBP": "英镑"}


def code(currency: object) -> str:
    """The ISO code, upper-case (the default for a missing one)."""
    text = str(currency).strip().upper() if currency is not None else ""
    return text if text and text != "NONE" and text != "NAN" else DEFAULT


def word(currency: object, lang: str = "en") -> str:
    """How the unit is named in ``lang``: 元 / 美元 in Chinese for the currencies above, else the ISO code."""
    c = code(currency)
    return ZH_WORDS.get(c, c) if lang == "zh" else c


def money(value: object, currency: object, digits: int = 0) -> str:
    """``1,234,567 CNY``; an en dash for a missing value."""
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    return f"{v:,.{digits}f} {code(currency)}"


def ten_thousands(currency: object, lang: str = "en") -> str:
    """The unit of an amount kept in ten thousands (the seed's 万元): 万元 / 万美元 in Chinese, ``10k USD`` in English."""
    return f"万{word(currency, 'zh')}" if lang == "zh" else f"10k {code(currency)}"


def bilingual(currency: object) -> str:
    """The unit in the bilingual value report: ``元 CNY``, ``美元 USD``; just the code where Chinese has no word here."""
    c = code(currency)
    return f"{ZH_WORDS[c]} {c}" if c in ZH_WORDS else c
