"""The configuration: the typed schema, Hydra composition and validation, command-line override
checks, layer segments and steering targets. Torch-free; imports only :mod:`fusion.errors`."""
