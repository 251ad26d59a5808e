"""Reports over finished runs: grouping, paired statistics, text, plots, parity with the paper.
``python -m fusion.report`` runs :func:`fusion.report.build.main`."""
