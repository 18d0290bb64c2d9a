"""Generated documents: the quarterly value report per key customer (:mod:`lodestar.reports.value_report`)."""
