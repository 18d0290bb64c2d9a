"""One command, one outcome: the main job's follow-up runs (forecast history, value reports) fold into it."""

from __future__ import annotations

from lodestar.mainjob import MainJobOutcome


def test_a_failed_follow_up_run_fails_the_command_and_keeps_what_each_run_said() -> None:
    main = MainJobOutcome(True, "r1", 1.0, checks={"raw/erp_orders:rows": True}, warnings=["no file for crm/notes"])
    main.absorb(MainJobOutcome(True, "r2", 1.0, checks={"marts/forecast_accuracy:rows": True}))
    assert main.ok
    main.absorb(MainJobOutcome(False, "r3", 1.0, failed_steps=["value_report"], checks={"reports:pdf": False},
                               warnings=["late week"], failures={"value_report": "boom"}))
    assert not main.success and not main.ok
    assert main.failed_steps == ["value_report"] and main.failed_checks == ["reports:pdf"]
    assert main.warnings == ["no file for crm/notes", "late week"] and main.failures == {"value_report": "boom"}
    main.absorb(MainJobOutcome(True, "r4", 1.0))  # a later success does not clear an earlier failure
    assert not main.success
