"""The model side: devices and placement, loading (GGUF, hub, int8), CPU kernels, prompts, the
steering hooks, generation and reference means. Needs torch; imports config and data below it."""
