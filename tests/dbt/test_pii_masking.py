"""No mart an analyst reads holds a phone number, an e-mail address or a CRM contact's name in the clear (issue 14):
every string column of every mart is scanned on the session's real build, and the same scan finds them in staging,
where they are kept."""

from __future__ import annotations

import duckdb
import pytest
from lodestar_dbt_helpers import Built

# RE2 (DuckDB's regex engine) has no look-around: a number is bounded by a non-digit or the end of the text.
PATTERNS = {
    # Chinese mobile numbers, with or without +86
    "mobile": r"(^|[^0-9]|86)1[3-9][0-9]{9}([^0-9]|$)",
    # landlines with their area code: 010-62345678, 0755-1234567
    "landline": r"(^|[^0-9])0[1-9][0-9]{1,2}-[0-9]{7,8}([^0-9]|$)",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
}

# The customers' contacts' names; a name an employee (account manager, CSG member) happens to share is left out,
# as the marts may name employees.
CONTACT_NAMES = """
    select contact_name from staging.stg_crm__contacts where length(contact_name) > 1
    except select account_manager_name from staging.stg_crm__account_managers
    except select member_name from staging.stg_crm__csg_members"""


def string_columns(con: duckdb.DuckDBPyConnection, schema: str) -> list[tuple[str, str]]:
    return con.execute(
        "select c.table_name, c.column_name from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema = ? and c.data_type = 'VARCHAR' order by 1, 2", [schema]).fetchall()


def pii_hits(con: duckdb.DuckDBPyConnection, schema: str) -> dict[tuple[str, str, str], str]:
    """(table, column, kind) -> an example value, for every string column of ``schema`` that holds a phone
    number, an e-mail address or the exact name of a CRM contact (staging.stg_crm__contacts); one scan per table."""
    by_table: dict[str, list[str]] = {}
    for table, column in string_columns(con, schema):
        by_table.setdefault(table, []).append(column)
    names = {r[0] for r in con.execute(CONTACT_NAMES).fetchall()}
    hits: dict[tuple[str, str, str], str] = {}
    for table, columns in by_table.items():
        probes, keys, args = [], [], []
        for column in columns:
            col = f'"{column}"'
            for kind, pattern in PATTERNS.items():
                probes.append(f"min(case when regexp_matches({col}, ?) then {col} end)")
                keys.append((table, column, kind))
                args.append(pattern)
            probes.append(f"min(case when list_contains(?, {col}) then {col} end)")
            keys.append((table, column, "contact_name"))
            args.append(sorted(names))
        found = con.execute(f'select {", ".join(probes)} from "{schema}"."{table}"', args).fetchone()
        hits.update({key: example for key, example in zip(keys, found, strict=True) if example is not None})
    return hits


def test_patterns_tell_numbers_from_masks() -> None:
    con = duckdb.connect()
    cases = {
        "mobile": (["13812345678", "手机:19912345678。", "+8615012345678"], ["138****5678", "113812345678", "1381234567"]),
        "landline": (["010-62345678", "电话 0755-1234567"], ["GB/T 38082-2019", "WS/T 512-2016", "2026-11-23"]),
        "email": (["zhang.wei@example.cn", "联系 am001@jielida.com.cn"], ["mail:3f2a9c0d1e4b", "@home", "a@b"]),
    }
    for kind, (found, not_found) in cases.items():
        for text in found:
            assert con.execute("select regexp_matches(?, ?)", [text, PATTERNS[kind]]).fetchone()[0], (kind, text)
        for text in not_found:
            assert not con.execute("select regexp_matches(?, ?)", [text, PATTERNS[kind]]).fetchone()[0], (kind, text)


@pytest.mark.slow
def test_marts_hold_no_phone_email_or_contact_name(built: Built) -> None:
    assert built.build.returncode == 0, built.build.stdout[-4000:]
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        scanned = string_columns(con, "marts")
        mart_hits = pii_hits(con, "marts")
        staging_hits = pii_hits(con, "staging")
    finally:
        con.close()
    print(f"scanned {len(scanned)} string columns of {len({t for t, _ in scanned})} marts")
    assert len(scanned) > 50
    assert mart_hits == {}, f"personal data in the clear in the marts: {mart_hits}"
    # The scan is not vacuous: the raw values it looks for are there, in staging, where they are kept.
    assert {("stg_crm__contacts", "contact_email", "email"), ("stg_crm__account_managers", "account_manager_email",
            "email"), ("stg_crm__contacts", "contact_name", "contact_name")} <= set(staging_hits), staging_hits
