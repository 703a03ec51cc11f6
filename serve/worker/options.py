"""How the worker serves: its model and key, with the limits every server holds requests to.

Plain values frozen at startup, read from :class:`~rag.config.Settings` with the command line's
options on top, so the application never reads the environment itself and a test or benchmark
can build a worker with any limits it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.access.keys import KeyRing
from rag.runtime.models import public_model_name
from serve.http.limits import ServerLimits, with_overrides

if TYPE_CHECKING:
    from rag.access.registry import Registry
    from rag.config import Settings


@dataclass(frozen=True, kw_only=True)
class WorkerOptions(ServerLimits):
    """How one worker serves: its model, its key, and the limits."""

    model_id: str
    api_key: str | None = None
    api_keys: Mapping[str, Sequence[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WorkerOptions:
        """Options from settings; ``overrides`` that are None keep the setting."""
        key = settings.worker.api_key.get_secret_value() if settings.worker.api_key else None
        values = {
            "model_id": settings.generation.model,
            "api_key": key,
            "api_keys": dict(settings.api.keys),
            **cls.settings_values(settings),
        }
        return cls(**with_overrides(values, overrides))

    def keyring(self, registry: Registry | None) -> KeyRing:
        """The keys the worker accepts: its own, the RAG API's, and the store's (if any)."""
        own = {} if self.api_key is None else {self.api_key: ()}  # "" is refused, not ignored
        configured = {**self.api_keys, **own}
        return KeyRing(configured=configured, registry=registry)

    @property
    def public_model_name(self) -> str:
        """The model as the worker shows it: a local folder by its name only, never its path."""
        return public_model_name(self.model_id)
