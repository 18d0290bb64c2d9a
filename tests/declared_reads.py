"""Test helper: the warehouse relations an asset's code reads, recorded through the Warehouse interface while the
asset runs in its own test, must be exactly the deps it declares (its own outputs aside).

Every read of a library goes through ``lodestar.warehouse.Reader`` (query, table_exists, row_count; the
``Warehouse`` methods of those names open one); the recorder patches those for the duration of a ``with`` block
and attributes each read to the asset whose compute function is on the call stack, so several assets can run in
one ``dg.materialize``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable

import dagster as dg

from lodestar.warehouse import Reader

SCHEMAS = ("raw", "staging", "intermediate", "marts", "seeds")
_RELATION = re.compile(r"\b(" + "|".join(SCHEMAS) + r")\s*\.\s*\"?([A-Za-z_][A-Za-z0-9_]*)")


def relations_in_sql(sql: str) -> set[dg.AssetKey]:
    """``schema.table`` names a SQL statement reads (the warehouse schemas only; information_schema is not one)."""
    return {dg.AssetKey([s.lower(), t.lower()]) for s, t in _RELATION.findall(sql)}


class ReadRecorder:
    """``with ReadRecorder([asset_def, ...]) as rec: dg.materialize(...)`` then ``rec.assert_declared_equals_read()``."""

    def __init__(self, assets_defs: Iterable[dg.AssetsDefinition]):
        self.assets_defs = list(assets_defs)
        self._by_code = {ad.op.compute_fn.decorated_fn.__code__: ad for ad in self.assets_defs}
        self.reads: dict[str, set[dg.AssetKey]] = {ad.node_def.name: set() for ad in self.assets_defs}
        self._saved: dict[str, object] = {}

    def _record(self, keys: set[dg.AssetKey]) -> None:
        frame = inspect.currentframe()
        while frame is not None:
            ad = self._by_code.get(frame.f_code)
            if ad is not None:
                self.reads[ad.node_def.name] |= keys
                return
            frame = frame.f_back

    def __enter__(self) -> ReadRecorder:
        # Reader answers every lookup: Warehouse.query/table_exists/row_count each open one, and a library making
        # many lookups opens one itself (Warehouse.reader()); patching Reader sees both.
        recorder = self
        self._saved = {n: getattr(Reader, n) for n in ("query", "table_exists", "row_count")}
        query, exists, count = self._saved["query"], self._saved["table_exists"], self._saved["row_count"]

        def _query(r, sql, params=None):
            recorder._record(relations_in_sql(sql))
            return query(r, sql, params)

        def _table_exists(r, schema, table):
            recorder._record({dg.AssetKey([schema, table])})
            return exists(r, schema, table)

        def _row_count(r, schema, table):
            recorder._record({dg.AssetKey([schema, table])})
            return count(r, schema, table)

        Reader.query, Reader.table_exists, Reader.row_count = _query, _table_exists, _row_count
        return self

    def __exit__(self, *exc) -> None:
        for name, fn in self._saved.items():
            setattr(Reader, name, fn)

    def declared(self, ad: dg.AssetsDefinition) -> set[dg.AssetKey]:
        """The warehouse relations the asset declares as deps (model/asset deps such as intel/ner_model aside)."""
        return {d for deps in ad.asset_deps.values() for d in deps if d.path[0] in SCHEMAS} - set(ad.keys)

    def assert_declared_equals_read(self) -> None:
        problems = []
        for ad in self.assets_defs:
            read = self.reads[ad.node_def.name] - set(ad.keys)
            declared = self.declared(ad)
            if not read and not declared:
                continue
            undeclared = sorted(k.to_user_string() for k in read - declared)
            unused = sorted(k.to_user_string() for k in declared - read)
            if undeclared or unused:
                problems.append(f"{ad.node_def.name}: reads undeclared {undeclared}, declares unread {unused}")
            if not self.reads[ad.node_def.name]:
                problems.append(f"{ad.node_def.name}: nothing recorded (did it run inside the recorder?)")
        assert not problems, "declared deps differ from what the code reads:\n" + "\n".join(problems)
