"""Which sources each mart, forecast and intelligence asset needs, read off the asset graph itself
(`lodestar capabilities`, and the README's capability matrix).

An asset needs a source when one of the source's landed raw tables is upstream of it, through dbt models
and Python assets alike. For a configured company (lodestar.yaml) the command also says, per asset,
which of the needed sources the company lacks: those assets build empty (or partial) for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lodestar.settings import PROJECT_ROOT

CONTRACTS_DIR = PROJECT_ROOT / "connectors" / "contracts"
HTTP_DIR = PROJECT_ROOT / "connectors" / "http"
# The asset groups a business user reads: marts (dbt), the forecast, and document / text intelligence.
OUTPUT_GROUPS = ("marts", "forecast", "intel", "levers")
_START, _END = "<!-- capability-matrix:start -->", "<!-- capability-matrix:end -->"


@dataclass(frozen=True)
class Need:
    asset: str  # e.g. marts/customer_360
    group: str
    sources: tuple[str, ...]  # file sources / HTTP feeds upstream, sorted


def raw_table_sources(dirs: list[tuple[Path, Path]]) -> dict[str, str]:
    """raw table -> the source that lands it (file source name, or the HTTP feed's source)."""
    from connectors.contracts import discover_http_contracts, load_file_contracts

    owner: dict[str, str] = {}
    for contracts_dir, http_dir in dirs:
        sources, _ = load_file_contracts(contracts_dir)
        for c in sources:
            for feed in c.feeds:
                owner[c.table_name(feed)] = c.source
            owner[c.rejects_table] = c.source
        feeds, _ = discover_http_contracts(http_dir)
        for h in feeds:
            owner[h.table_name] = h.name
    return owner


def asset_needs(defs, owner: dict[str, str], groups: tuple[str, ...] = OUTPUT_GROUPS) -> list[Need]:
    """For every asset of ``groups``: the sources whose raw tables are upstream of it."""
    graph = defs.resolve_asset_graph()
    parents: dict = {}

    def parent_keys(key) -> set:
        if key not in parents:
            parents[key] = set(graph.get(key).parent_keys) if graph.has(key) else set()
        return parents[key]

    out = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        group = graph.get(key).group_name or ""
        if group not in groups:
            continue
        out.append(Need(key.to_user_string(), group, _sources_upstream([key], parent_keys, owner)))
    return out


def _sources_upstream(keys: list, parent_keys, owner: dict[str, str]) -> tuple[str, ...]:
    seen, stack, needed = set(), list(keys), set()
    while stack:
        k = stack.pop()
        for p in parent_keys(k):
            if p in seen:
                continue
            seen.add(p)
            if p.path[0] == "raw" and len(p.path) == 2 and p.path[1] in owner:
                needed.add(owner[p.path[1]])
            stack.append(p)
    return tuple(sorted(needed))


def page_needs(defs, owner: dict[str, str], manifest_path: Path) -> list[Need]:
    """For every cockpit page and report (the dbt exposures, models/exposures.yml, with the models each one
    queries): the sources upstream of what it reads. Named ``cockpit <path>`` (its URL) or ``report <name>``."""
    import json
    from urllib.parse import urlsplit

    import dagster as dg

    graph = defs.resolve_asset_graph()
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    out = []
    for exp in sorted(manifest.get("exposures", {}).values(), key=lambda e: (e.get("url") or "", e["name"])):
        keys = [dg.AssetKey([manifest["nodes"][n]["schema"], manifest["nodes"][n]["name"]])
                for n in exp["depends_on"]["nodes"] if n in manifest["nodes"]]
        keys = [k for k in keys if graph.has(k)]
        path = urlsplit(exp.get("url") or "").path
        name = f"cockpit {path}" if exp.get("type") in ("application", "dashboard") and path else f"report {exp['name']}"
        out.append(Need(name, "exposure",
                        _sources_upstream(keys, lambda k: set(graph.get(k).parent_keys) if graph.has(k) else set(),
                                          owner)))
    return out


def company_sources(company) -> set[str] | None:
    """The sources a company has (None: every contract of its folders applies)."""
    if company is None:
        return None
    from connectors.contracts import discover_http_contracts, load_file_contracts

    files, _ = load_file_contracts(company.contracts_dir or CONTRACTS_DIR)
    feeds, _ = discover_http_contracts(company.http_contracts_dir or HTTP_DIR)
    return {c.source for c in files if company.applies(c.source)} | {h.name for h in feeds if company.http_applies(h.name)}


def declared_needs(manifest_path: Path) -> dict[str, list[str]]:
    """Per dbt model asset (``marts/<model>``), the raw tables its ``meta.lodestar_needs`` names: without them
    the mart is empty and ``marts.mart_status`` says why (dbt_project.yml)."""
    import json

    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    return {f"{n['schema']}/{n['name']}": list(n["config"]["meta"]["lodestar_needs"])
            for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n.get("config", {}).get("meta", {}).get("lodestar_needs")}


def render_matrix(needs: list[Need], sources: list[str], empty_without: dict[str, list[str]] | None = None) -> str:
    """A markdown table: one row per asset, a column per source, ● where the asset reads it, and the raw tables
    without which the mart is empty (its declared needs)."""
    empty_without = empty_without or {}
    head = "| asset | " + " | ".join(sources) + " | empty without |"
    rule = "|---|" + "|".join(":-:" for _ in sources) + "|---|"
    rows = [f"| {n.asset if n.group == 'exposure' else f'`{n.asset}`'} | " + " | ".join("●" if s in n.sources else "" for s in sources) + " | "
            + ", ".join(f"`raw.{t}`" for t in empty_without.get(n.asset, [])) + " |" for n in needs]
    return "\n".join([head, rule, *rows])


def update_readme(readme: Path, table: str) -> bool:
    """Rewrite the capability matrix between its markers in the README; True when it changed."""
    from lodestar.graph import replace_marked_block

    return replace_marked_block(readme, _START, _END, table)
