"""Shared rules for loading models: where a name points, which device, and clear failures.

A model setting is either a local folder or a hub name. A value that looks like a path but is
not a folder fails at once with that message, instead of a slow, confusing hub lookup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rag.errors import ModelLoadError


def model_reference(name_or_path: str, role: str) -> str:
    """Return a local folder (resolved) or a hub name, failing early on a missing folder.

    Args:
        name_or_path: The configured value.
        role: What the model is for, for the message (``"embedding"``, ``"generator"``).

    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return str(candidate.resolve())
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1
    if looks_like_path:
        msg = f"{role} model folder not found: {name_or_path}"
        raise ModelLoadError(msg)
    return name_or_path


@contextlib.contextmanager
def loading(role: str, reference: str) -> Iterator[None]:
    """Turn any failure while loading a model into one :class:`ModelLoadError` line."""
    try:
        yield
    except ModelLoadError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, ImportError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        msg = (
            f"could not load the {role} model {reference!r}: {first_line} "
            f"(offline? set BLLOSSOM_RAG_{role.upper()}_MODEL to a local folder)"
        )
        raise ModelLoadError(msg) from error


def resolve_device(setting: str) -> str:
    """Map ``"auto"`` to the best available device; pass anything else through."""
    if setting != "auto":
        return setting
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"
