"""What the SQL linter's jinja templater needs of dbt's context beyond sqlfluff's dbt builtins (dbt_project/.sqlfluff).

sqlfluff's `apply_dbt_builtins` gives ref/source/var/config/this/return, and `load_macros_from_path` the project's
macros; those also call dbt's cross-database macros (`dbt.type_string()`, ...: lint_libs/dbt.py), dispatch on the
adapter and read `target`. The stand-ins render what dbt renders on DuckDB, the default target, so the linter
parses the SQL a DuckDB build runs. `execute` is false, as in dbt's parse phase: the macros that query the
warehouse (raw_exists, unmet_needs) take their parse-time branch, and linting needs neither a warehouse nor dbt.
"""

from types import SimpleNamespace

from jinja2 import pass_context

execute = False
target = SimpleNamespace(type="duckdb", name="duckdb", schema="main", database="warehouse")


class _Adapter:
    """`adapter.dispatch(name, namespace)`: the project's duckdb__<name> macro, else default__<name>, as in dbt."""

    @pass_context
    def dispatch(self, context, macro_name: str, macro_namespace: str | None = None):
        for prefix in ("duckdb__", "default__"):
            if prefix + macro_name in context:
                return context.resolve(prefix + macro_name)
        raise LookupError(f"no duckdb__ or default__ implementation of {macro_name}")


adapter = _Adapter()
