"""The defs folder Dagster loads (`load_from_defs_folder`): one folder per domain of the asset graph
(raw, dbt, forecast, intel, levers, ...), the main job, and the resources built in one place."""
