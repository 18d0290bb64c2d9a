"""The engine-neutral mart checksum of the parity tests: blind to float noise, not to a difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lodestar_dbt_helpers import MARTS
from mart_checksums import checksum


def test_checksum_is_blind_to_float_noise_below_nine_digits_only() -> None:
    # Spark sums a column in another order than DuckDB: the last bits differ, the amount does not.
    assert checksum([(1391197.0000000002, "C001")]) == checksum([(1391197.0, "C001")])
    assert checksum([(0.1 + 0.2,)]) == checksum([(0.3,)])
    assert checksum([(Decimal("12.50"), dt.date(2026, 1, 5))]) == checksum([(12.5, dt.date(2026, 1, 5))])
    # ... but a cent on a million, a different row or a NULL for a zero is a difference
    assert checksum([(1391197.01,)]) != checksum([(1391197.0,)])
    assert checksum([(None,)]) != checksum([(0.0,)])
    assert checksum([(float("inf"),)]) != checksum([(1e308,)])


def test_every_mart_of_the_project_is_compared() -> None:
    assert {"customer_360", "access_policy", "warning_lights"} <= set(MARTS) and len(MARTS) >= 20
