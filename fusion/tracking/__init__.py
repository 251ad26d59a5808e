"""Where results live: MLflow runs, datasets and answer traces, Optuna study files, stores, the
unsteered-answer store, steering-vector artifacts and a study's answers file."""
