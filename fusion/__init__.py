"""Fusion Steering: prompt-specific activation steering experiments (arXiv 2505.22572).

The public API (everything else is internal and may move):

- ``load_vectors(source, prompt=None, *, tracking_uri=None) -> SteeringVectors``: a run's steering
  vectors, from a ``.safetensors`` file it saved, or from its run id and a question's row index
  (its row in the run's set).
- ``SteeringVectors``: reference means ``targets`` ``[layers, d]`` and ``strengths`` ``[1, layers]``;
  ``vectors.apply(model)`` steers any Hugging Face causal LM inside a ``with`` block and always
  removes its hooks; ``vectors.scaled(f)`` multiplies the strengths.
- ``capture_reference_means(model, tokenizer, text, span=None) -> torch.Tensor``: each decoder
  layer's output averaged over (a span of) a text, ``[layers, d]``: a steering target.
- ``load_model(name="smollm2_135m") -> (model, tokenizer)``: a ``fusion/conf/model`` option (or a local
  path or hub id) loaded as a job loads it.
- ``steering(layers, targets, strengths, *, cached=False)``: the steering hooks themselves, as a
  context manager, for a batch with one row of strengths per row.
- ``run_job(overrides=(), output_dir=None) -> JobResult``: one job from Python, composed and checked
  as ``python -m fusion.run OVERRIDES`` is. (Not ``fusion.run``: that name is the
  entry-point module, and importing it would replace the function of that name.)
- ``strict_answer``: fusion's strict judge (CORRECT and not degenerate) as an MLflow GenAI scorer, for
  ``mlflow.genai.evaluate(data=..., scorers=[fusion.strict_answer])``; ``strict_scorer(overrides)``
  builds one with another judge (``["judge=openai", "judge.model=..."]``).
- ``FusionError``: the one error type of bad input (its message is one line naming the fix).

Example (docs/api.md)::

    import fusion

    result = fusion.run_job(["data.limit=1", "search.n_trials=2", "steering.decoding=cached"])
    vectors = fusion.load_vectors(result.run_id, prompt=result.outcomes[0].index, tracking_uri=result.tracking_uri)
    model, tokenizer = fusion.load_model("smollm2_135m")
    inputs = tokenizer(vectors.meta["steer_text"], return_tensors="pt")
    with vectors.apply(model):
        ids = model.generate(**inputs, max_new_tokens=100, do_sample=False)

Importing ``fusion`` loads nothing heavy: each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "load_vectors": "fusion.tracking.vectors",
    "SteeringVectors": "fusion.model.vectors",
    "capture_reference_means": "fusion.model.reference",
    "steering": "fusion.model.steering",
    "load_model": "fusion.model.loading",
    "run_job": "fusion.job.pipeline",
    "JobResult": "fusion.job.pipeline",
    "FusionError": "fusion.errors",
    "strict_answer": "fusion.tracking.scorer",
    "strict_scorer": "fusion.tracking.scorer",
}
__all__ = [
    "FusionError",
    "JobResult",
    "SteeringVectors",
    "__version__",
    "capture_reference_means",
    "load_model",
    "load_vectors",
    "run_job",
    "steering",
    "strict_answer",
    "strict_scorer",
]

if TYPE_CHECKING:
    from fusion.errors import FusionError
    from fusion.job.pipeline import JobResult, run_job
    from fusion.model.loading import load_model
    from fusion.model.reference import capture_reference_means
    from fusion.model.steering import steering
    from fusion.model.vectors import SteeringVectors
    from fusion.tracking.scorer import strict_answer, strict_scorer
    from fusion.tracking.vectors import load_vectors


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fusion' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
