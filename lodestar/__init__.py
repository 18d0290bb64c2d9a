"""Lodestar: shared settings, the warehouse interface, the demo company and the CLI."""

__version__ = "0.1.0"
