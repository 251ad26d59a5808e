"""One job: the preflight checks, the unsteered answers, the per-question runner and the pipeline
that logs it all (``python -m fusion.run`` calls :func:`fusion.job.pipeline.run_job`)."""
