"""One module per domain of the asset graph; `orchestration.definitions` merges them."""
