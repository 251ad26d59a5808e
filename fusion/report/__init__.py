"""Reports over finished runs: grouping into typed summaries, paired statistics, verdicts, text,
plots, adjudication by hand labels. ``fusion report`` (and ``python -m fusion.report``) parses its
options in :mod:`fusion.commands.report` and builds with :func:`fusion.report.build.build`."""
