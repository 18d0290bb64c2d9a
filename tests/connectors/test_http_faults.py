"""The HTTP connector against a fault-injecting server on 127.0.0.1 (connectors/faults.py): retries
with backoff and Retry-After, resume from the cursor, no duplicates after a retry, ties at the cursor,
bad bodies and schema drift."""

from __future__ import annotations

import pytest

from connectors.faults import HTTP_CASES, HttpFaultCase, run_http_case
from connectors.http_api import retry_after_seconds, since_with_lookback


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.name for c in HTTP_CASES])
def test_http_fault_ends_in_every_record_once_or_a_named_error(case: HttpFaultCase, fault_home):
    outcome = run_http_case(case, fault_home)
    assert outcome.survived, "\n".join(outcome.problems)
    assert (outcome.rows_lost, outcome.rows_duplicated) == (0, 0)


def test_the_checker_catches_a_client_without_retries(fault_home, monkeypatch):
    """The cases can fail: with one attempt, a 503 is the end of the landing."""
    import connectors.faults as faults

    monkeypatch.setattr(faults, "HTTP_FAULT_YAML", faults.HTTP_FAULT_YAML.replace("attempts: 4", "attempts: 1"))
    outcome = run_http_case(HttpFaultCase("no_retry", "http retry", {1: "status:503"}), fault_home)
    assert not outcome.survived and "failed after 1 attempt(s): answered 503" in outcome.problems[0]


def test_retry_after_header_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_lookback_keeps_the_cursor_spelling():
    assert since_with_lookback("2024-03-02T09:00:00", 1) == "2024-03-02T08:59:59"
    assert since_with_lookback("2024-03-02T09:00:00.250000Z", 1) == "2024-03-02T08:59:59.250000Z"
    assert since_with_lookback("2024-03-02 09:00:00", 60) == "2024-03-02 08:59:00"
    assert since_with_lookback("opaque-cursor-17", 1) == "opaque-cursor-17"
