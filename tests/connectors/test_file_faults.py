"""Every fault of the catalogue in connectors/faults.py, landed on a real DuckDB warehouse: the good file
of the batch always lands, each bad file or row ends as a named reject, and landing again adds nothing."""

from __future__ import annotations

import pytest

from connectors.faults import CASES, run_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_lands_the_good_rows_and_rejects_the_bad_by_name(case, fault_home):
    outcome = run_case(case, fault_home)
    assert outcome.survived, "\n".join(outcome.problems)
    assert (outcome.rows_lost, outcome.rows_duplicated) == (0, 0)
