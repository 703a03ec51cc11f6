"""How a server serves: the limits it holds requests to, and the worker's model and key.

The limits (:class:`ServerLimits`, shared by the worker and the RAG API) are plain values frozen
at startup, read from :class:`~rag.config.Settings` (the
``serve_*`` fields) with the command line's options on top, so the application never reads the
environment itself and a test or benchmark can build a worker with any limits it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag.models import public_model_name

if TYPE_CHECKING:
    from rag.config import Settings


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """What one request may cost a server: the Worker section of :class:`~rag.config.Settings`.

    The GPU worker and the RAG API hold requests to the same limits, from the same settings.
    """

    max_queue: int = 16
    max_concurrency: int = 2
    timeout: float = 300.0
    max_images: int = 4
    max_prompt_tokens: int = 16384
    max_body_bytes: int = 64 * 1024 * 1024
    max_new_tokens: int = 4096
    read_timeout: float = 60.0
    max_embedding_inputs: int = 512

    @staticmethod
    def settings_values(settings: Settings) -> dict[str, Any]:
        """The limits' values from settings, by field name."""
        return {
            "max_queue": settings.serve_max_queue,
            "max_concurrency": settings.serve_max_concurrency,
            "timeout": settings.serve_timeout,
            "max_images": settings.serve_max_images,
            "max_prompt_tokens": settings.serve_max_prompt_tokens,
            "max_body_bytes": settings.serve_max_body_bytes,
            "max_new_tokens": settings.serve_max_new_tokens,
            "read_timeout": settings.serve_read_timeout,
            "max_embedding_inputs": settings.serve_max_embedding_inputs,
        }


def with_overrides(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the ``overrides`` that are not None (a command line's unset options)."""
    return {**values, **{name: value for name, value in overrides.items() if value is not None}}


@dataclass(frozen=True, kw_only=True)
class WorkerOptions(ServerLimits):
    """How one worker serves: its model, its key, and the limits."""

    model_id: str
    api_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WorkerOptions:
        """Options from settings; ``overrides`` that are None keep the setting."""
        key = settings.serve_api_key.get_secret_value() if settings.serve_api_key else None
        values = {
            "model_id": settings.generator_model,
            "api_key": key,
            **cls.settings_values(settings),
        }
        return cls(**with_overrides(values, overrides))

    @property
    def public_model_name(self) -> str:
        """The model as the worker shows it: a local folder by its name only, never its path."""
        return public_model_name(self.model_id)
