"""Fusion Steering: prompt-specific activation steering experiments (arXiv 2505.22572)."""

__version__ = "0.1.0"
