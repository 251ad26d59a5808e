"""The per-question weight search: Optuna studies asked and told a batch of trials at a time."""
