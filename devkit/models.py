"""The models tests and benchmarks run, located through configuration, never special-cased.

A model's location comes from its setting's variable when set (``BLLOSSOM_RAG_EMBEDDING__MODEL``,
``BLLOSSOM_RAG_GENERATION__MODEL``), else from the folders ``tools/offline_models.py`` writes
(``$OFFLINE_MODELS_DIR``, else the checkout's ``.models/`` that ``make`` builds, else
``~/.cache/offline-models``), else the hub name. The same code runs on the tiny offline model
and on the real one.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def offline_model_folders() -> list[Path]:
    """Where ``tools/offline_models.py`` may have written its models, in the order searched."""
    if os.environ.get("OFFLINE_MODELS_DIR"):
        return [Path(os.environ["OFFLINE_MODELS_DIR"]).expanduser()]
    return [REPO / ".models", Path.home() / ".cache" / "offline-models"]


def located(variable: str, offline_name: str, hub_name: str) -> str:
    """A model's location: its variable, else an offline folder, else the hub name."""
    if os.environ.get(variable):
        return os.environ[variable]
    local = [folder / offline_name for folder in offline_model_folders()]
    return next((str(path) for path in local if path.is_dir()), hub_name)


EMBEDDING_MODEL = located(
    "BLLOSSOM_RAG_EMBEDDING__MODEL", "multilingual-e5-small", "intfloat/multilingual-e5-small"
)
GENERATOR_MODEL = located(
    "BLLOSSOM_RAG_GENERATION__MODEL",
    "tiny-llava-next",
    "Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
)


def command_environment(data_dir: Path) -> dict[str, str]:
    """The settings a command-line run of a test or benchmark uses, as variables."""
    return {
        "BLLOSSOM_RAG_DATA_DIR": str(data_dir),
        "BLLOSSOM_RAG_EMBEDDING__MODEL": EMBEDDING_MODEL,
        "BLLOSSOM_RAG_GENERATION__MODEL": GENERATOR_MODEL,
        "BLLOSSOM_RAG_GENERATION__MAX_NEW_TOKENS": "8",
        "BLLOSSOM_RAG_DEVICE": "cpu",
    }
