"""Shared rules for loading models: where a name points, which device, and clear failures.

A model setting is either a local folder or a hub name. A value that looks like a path but is
not a folder fails at once with that message, instead of a slow, confusing hub lookup. A hub
name is resolved before any library sees it: one already in the local Hugging Face cache loads
from there when the hub cannot be reached, and one that is not cached fails at once when it
cannot be fetched. The trade-off is one short request to the hub (``HUB_PROBE_TIMEOUT_S``, never
retried) before a hub download, against the libraries' own retry loops, which spent over a
minute per file before failing offline.
"""

from __future__ import annotations

import contextlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from rag.errors import ConfigError, ModelLoadError
from rag.text.display import plural

# One request, never retried: a hub that does not answer within this is treated as unreachable.
HUB_PROBE_TIMEOUT_S = 3.0
_DEFAULT_ENDPOINT = "https://huggingface.co"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
_TRUE = {"1", "true", "yes", "on"}


# The setting that names each role's model, for the messages.
SETTINGS = {
    "embedding": "embedding.model",
    "generator": "generation.model",
    "reranker": "retrieval.reranker_model",
}


def model_reference(name_or_path: str, role: str) -> str:
    """Return what a library can load without retrying: a local folder or a reachable hub name.

    Args:
        name_or_path: The configured value.
        role: What the model is for (``"embedding"``, ``"generator"``, ``"reranker"``), which
            names its setting in the message (:data:`SETTINGS`).

    Raises:
        ModelLoadError: The folder is missing, or the hub name is neither cached nor reachable.

    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return str(candidate.resolve())
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1
    if looks_like_path:
        msg = f"{role} model folder not found: {name_or_path}"
        raise ModelLoadError(msg)
    if hub_reachable():
        return name_or_path
    cached = _cached_snapshot(name_or_path)
    if cached is not None:
        return cached  # a folder: the library never asks the hub
    why = "HF_HUB_OFFLINE is set" if hub_offline() else "the hub cannot be reached"
    setting = SETTINGS.get(role, f"{role}_model")
    msg = (
        f"{role} model {name_or_path!r} is not in the local Hugging Face cache and {why}; "
        f"set {setting} (BLLOSSOM_RAG_{setting.upper().replace('.', '__')} or "
        "bllossom-rag.toml) to a local model folder"
    )
    raise ModelLoadError(msg)


def model_name(name_or_path: str) -> str:
    """The reference a collection records: the absolute folder, or the hub name as given."""
    candidate = Path(name_or_path).expanduser()
    return str(candidate.resolve()) if candidate.is_dir() else name_or_path


def public_model_name(name_or_path: str) -> str:
    """A model as a server shows it to others: a local folder by its name only, never its path."""
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1
    return (
        Path(name_or_path).name if looks_like_path or Path(name_or_path).is_dir() else name_or_path
    )


def hub_offline() -> bool:
    """Whether Hugging Face's offline switch (``HF_HUB_OFFLINE``) is on in this process."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One request to the hub (``HF_ENDPOINT``); False when offline mode is on or it fails.

    Any HTTP answer counts as reachable (the library then reports a wrong name itself); only a
    network failure or the timeout count as unreachable.
    """
    if hub_offline():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", _DEFAULT_ENDPOINT).rstrip("/")
    request = urllib.request.Request(f"{endpoint}/api/models", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):  # URLError, timeouts, refused connections, a bad endpoint
        return False


def _cached_snapshot(repo_id: str) -> str | None:
    """The folder of a hub model already in the local cache, or None (no network)."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        return snapshot_download(repo_id, local_files_only=True)
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None


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


def check_device_name(setting: str) -> str:
    """Validate the form of a ``device`` setting without importing torch.

    Raises:
        ValueError: Not ``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``.

    """
    if not _DEVICE.fullmatch(setting):
        msg = f"{setting!r} is not a device; use auto, cpu, cuda or cuda:N (or mps)"
        raise ValueError(msg)
    return setting


def resolve_device(setting: str) -> str:
    """Map ``"auto"`` to the best available device and check that a named one exists.

    Raises:
        ConfigError: The setting names a device this machine does not have.

    """
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda"):
        index = int(setting.partition(":")[2] or 0)
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index >= available:
            found = plural(available, "CUDA device") if available else "no CUDA device"
            msg = (
                f"device is {setting!r} but this machine has {found} (torch {torch.__version__}); "
                "set device to auto or cpu"
            )
            raise ConfigError(msg)
    elif setting == "mps" and not torch.backends.mps.is_available():
        msg = "device is 'mps' but Metal is not available here; set device to auto or cpu"
        raise ConfigError(msg)
    return setting
