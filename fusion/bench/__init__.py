"""Speed benchmarks: ``python -m fusion.bench`` (CPU pipeline, or random-weight models on a GPU)."""
