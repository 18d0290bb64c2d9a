"""A text picture of the asset graph, by group, for the README and the terminal."""

from __future__ import annotations

import json
import re
import textwrap
from collections import defaultdict
from pathlib import Path

import dagster as dg

GROUP_ORDER = ["erp", "crm", "pos", "distributor", "complaints", "ecommerce", "kpi", "real_data",
               "seeds", "staging", "intermediate", "marts", "intel", "forecast", "levers", "reports"]
_START, _END = "<!-- asset-graph:start -->", "<!-- asset-graph:end -->"
SNAPSHOT_PATH = Path(__file__).resolve().parent.parent / "tests" / "orchestration" / "definitions_snapshot.json"


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
    return replace_marked_block(readme, _START, _END, f"```text\n{picture}\n```")


def replace_marked_block(readme: Path, start: str, end: str, body: str) -> bool:
    """Replace what lies between two marker comments of a file; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    block = f"{start}\n{body}\n{end}"
    new = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def _partitions(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    return f"{type(partitions_def).__name__}: {partitions_def}"


def _automation(condition) -> str | None:
    return None if condition is None else (condition.get_label() or type(condition).__name__)


def definitions_snapshot(defs: dg.Definitions) -> dict:
    """Everything a refactor must not drop or rewire silently, as plain sorted data: every asset with its deps,
    group, kinds, owners, pool, partitions and automation; every check; every job, schedule and sensor."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "pools": sorted(node.pools or []),
            "partitions": _partitions(node.partitions_def),
            "automation": _automation(node.automation_condition),
            "executable": node.is_executable,
        }
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)
    jobs = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        keys = job.asset_layer.executable_asset_keys if job.asset_layer else set()
        jobs[job.name] = {"assets": len(keys), "partitions": _partitions(job.partitions_def),
                          "ops": sorted(n.name for n in job.nodes) if not keys else []}
    schedules = {s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                          "default_status": s.default_status.value}
                 for s in sorted(defs.schedules or [], key=lambda s: s.name)}
    sensors = {}
    for sensor in sorted(defs.sensors or [], key=lambda s: s.name):
        targets = [t.job_name for t in sensor.targets] if sensor.targets else []
        sensors[sensor.name] = {"type": type(sensor).__name__, "jobs": sorted(targets),
                                "default_status": sensor.default_status.value}
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def write_snapshot(defs: dg.Definitions, path: Path = SNAPSHOT_PATH) -> bool:
    """Rewrite the pinned snapshot (`lodestar graph --update-snapshot`); True when it changed."""
    text = json.dumps(definitions_snapshot(defs), indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if text != old:
        path.write_text(text, encoding="utf-8")
    return text != old
