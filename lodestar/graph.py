"""A text picture of the asset graph, by group, for the README and the terminal."""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from pathlib import Path

import dagster as dg

GROUP_ORDER = ["erp", "crm", "pos", "distributor", "complaints", "ecommerce", "kpi", "real_data",
               "seeds", "staging", "intermediate", "marts", "intel", "forecast", "levers"]
_START, _END = "<!-- asset-graph:start -->", "<!-- asset-graph:end -->"


def render_asset_graph(defs: dg.Definitions, width: int = 100) -> str:
    """One block per group: the groups it reads from, then its assets (group prefix dropped)."""
    graph = defs.resolve_asset_graph()
    by_group: dict[str, list[dg.AssetKey]] = defaultdict(list)
    for key in graph.get_all_asset_keys():
        by_group[graph.get(key).group_name or "default"].append(key)
    group_of = {key: group for group, keys in by_group.items() for key in keys}
    order = [g for g in GROUP_ORDER if g in by_group] + sorted(set(by_group) - set(GROUP_ORDER))
    lines = []
    for group in order:
        keys = sorted(by_group[group], key=lambda k: k.to_user_string())
        upstream = sorted(
            {group_of[p] for k in keys for p in graph.get(k).parent_keys if p in group_of} - {group},
            key=lambda g: order.index(g),
        )
        lines.append(f"{group} ({len(keys)})" + (f"  <- {', '.join(upstream)}" if upstream else ""))
        names = ", ".join(k.to_user_string() for k in keys)
        lines.extend(textwrap.wrap(names, width=width, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


def update_readme(readme: Path, picture: str) -> bool:
    """Replace the block between the asset-graph markers; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    block = f"{_START}\n```text\n{picture}\n```\n{_END}"
    new = re.sub(re.escape(_START) + r".*?" + re.escape(_END), lambda _m: block, text, flags=re.S)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text
