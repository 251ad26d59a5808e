"""Speed benchmarks (``fusion bench``: the CPU pipeline, or random-weight models on a GPU) and the
parity of our scoring with the paper's published numbers (``fusion parity``)."""
