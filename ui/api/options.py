"""How the RAG API serves: its keys and their groups, and the limits it shares with the worker.

A key is its caller's identity: the groups it maps to are everything it may read, and nothing
else (no header, no request field) can widen that. With no keys configured the API needs none
and every caller reads unrestricted documents only, as a signed-out user would. The limits are
the worker's ``serve_*`` settings, so one set of numbers bounds both servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.access import PUBLIC, Access

if TYPE_CHECKING:
    from rag.config import Settings


@dataclass(frozen=True)
class ApiOptions:
    """The API's keys and limits (see the RAG API and Worker sections of the settings)."""

    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    max_queue: int = 16
    max_concurrency: int = 2
    timeout: float = 300.0
    max_images: int = 4
    max_prompt_tokens: int = 16384
    max_body_bytes: int = 64 * 1024 * 1024
    max_new_tokens: int = 4096
    read_timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ApiOptions:
        """Options from settings; ``overrides`` that are None keep the setting."""
        values: dict[str, Any] = {
            "keys": {key: tuple(groups) for key, groups in settings.api_keys.items()},
            "max_queue": settings.serve_max_queue,
            "max_concurrency": settings.serve_max_concurrency,
            "timeout": settings.serve_timeout,
            "max_images": settings.serve_max_images,
            "max_prompt_tokens": settings.serve_max_prompt_tokens,
            "max_body_bytes": settings.serve_max_body_bytes,
            "max_new_tokens": settings.serve_max_new_tokens,
            "read_timeout": settings.serve_read_timeout,
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def access(self, key: str | None) -> Access:
        """What the caller with ``key`` (already checked by the middleware) may read."""
        if key is None:
            return PUBLIC  # no keys configured: unrestricted documents only
        return Access.for_groups(self.keys[key])
