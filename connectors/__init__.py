"""Connectors: land file drops and HTTP feeds into ``raw.*`` as their contracts say (see CONTRACTS.md).

Public API: ``connectors.contracts`` (load_file_contracts, discover_http_contracts),
``connectors.files.land_file_source`` and ``connectors.http_api.land_http_feed``.
"""
