"""A text picture of the asset graph, by group, for the README and the terminal."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import dagster as dg

GROUP_ORDER = ["erp", "crm", "pos", "distributor", "complaints", "ecommerce", "kpi", "real_data",
               "seeds", "staging", "intermediate", "marts", "intel", "forecast", "scenarios"]
_START, _END = "<!-- asset-graph:start -->", "<!-- asset-graph:end -->"


def render_asset_graph(defs: dg.Definitions) -> str:
    graph = defs.resolve_asset_graph()
    by_group: dict[str, list[dg.AssetKey]] = defaultdict(list)
    for key in graph.get_all_asset_keys():
        by_group[graph.get(key).group_name or "default"].append(key)
    order = [g for g in GROUP_ORDER if g in by_group] + sorted(set(by_group) - set(GROUP_ORDER))
    lines = []
    for group in order:
        keys = sorted(by_group[group], key=lambda k: k.to_user_string())
        lines.append(f"[{group}]  ({len(keys)} assets)")
        for key in keys:
            parents = sorted(p.to_user_string() for p in graph.get(key).parent_keys)
            arrow = f"  <- {', '.join(parents)}" if parents else ""
            lines.append(f"  {key.to_user_string()}{arrow}")
    return "\n".join(lines)


def update_readme(readme: Path, picture: str) -> bool:
    """Replace the block between the asset-graph markers; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    block = f"{_START}\n```text\n{picture}\n```\n{_END}"
    new = re.sub(re.escape(_START) + r".*?" + re.escape(_END), lambda _m: block, text, flags=re.S)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
