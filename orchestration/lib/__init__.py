"""Machinery the defs folder shares: resource classes, the dbt project and translator, asset keys."""
