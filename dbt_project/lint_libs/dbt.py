"""dbt's cross-database macros as dbt-duckdb renders them (for the SQL linter's jinja templater only)."""


def type_string() -> str:
    return "varchar"


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def type_float() -> str:
    return "float"


def type_boolean() -> str:
    return "boolean"


def type_timestamp() -> str:
    return "timestamp"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"


def listagg(measure: str, delimiter_text: str = "','", order_by_clause: str | None = None, limit_num=None) -> str:
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def length(expression: str) -> str:
    return f"length({expression})"


def concat(fields: list[str]) -> str:
    return f"({' || '.join(fields)})"


def hash(field: str) -> str:  # noqa: A001 - dbt's macro name
    return f"md5(cast({field} as varchar))"
