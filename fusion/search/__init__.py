"""A job: preflight checks, the per-prompt weight search, the per-prompt runner and the pipeline."""
