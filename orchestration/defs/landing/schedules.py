"""The landing schedule: land new source drops on a cron of the operator's choosing.

On the production profile the daemon runs it (scripts/prod_up.sh); on the laptop it stays stopped
until switched on in the UI. Which assets it lands and when come from the environment of the code
location, so a deployment can land, say, only its file drops every 15 minutes without a code change.
"""

from __future__ import annotations

import dagster as dg

from lodestar.settings import get_settings

# LODESTAR_LANDING_SELECTION / LODESTAR_LANDING_CRON (lodestar.settings); defaults: every landing asset,
# hourly at minute 0 (Asia/Shanghai, like the forecast schedule).
LANDING_SELECTION = get_settings().landing_selection
LANDING_CRON = get_settings().landing_cron

landing_job = dg.define_asset_job(
    "landing",
    selection=dg.AssetSelection.from_string(LANDING_SELECTION),
    description=f"Land new source drops: `{LANDING_SELECTION}` (LODESTAR_LANDING_SELECTION). Files already "
    "loaded are skipped, so a re-run lands only what is new.",
)

landing_schedule = dg.ScheduleDefinition(
    name="landing_schedule",
    job=landing_job,
    cron_schedule=LANDING_CRON,
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=f"Run the `landing` job on `{LANDING_CRON}` (LODESTAR_LANDING_CRON).",
)

defs = dg.Definitions(jobs=[landing_job], schedules=[landing_schedule])
