"""How the RAG API serves: its keys and their groups, and the limits it shares with the worker.

A key is its caller's identity: the groups it maps to are everything it may read, and nothing
else (no header, no request field) can widen that. Keys come from the configuration
(``[api] keys``, the quick way for one machine) and from the store (``bllossom-rag keys
create``: hashed, revocable, shared by every instance). With no key anywhere the API needs
none and every caller reads unrestricted documents only, as a signed-out user would. The
limits are the ``[server]`` settings, so one set of numbers bounds both servers; what one key
may hold of the slots is ``[api] slots_per_key`` (:mod:`~serve.http.admission`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.access.keys import KeyRing
from serve.http.limits import ServerLimits, with_overrides

if TYPE_CHECKING:
    from rag.access.registry import Registry
    from rag.config import Settings


@dataclass(frozen=True, kw_only=True)
class ApiOptions(ServerLimits):
    """The API's keys and their share of the slots, with the limits it shares with the worker."""

    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    slots_per_key: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ApiOptions:
        """Options from settings; ``overrides`` that are None keep the setting."""
        keys = {key: tuple(groups) for key, groups in settings.api.keys.items()}
        values = {
            "keys": keys,
            "slots_per_key": settings.api.slots_per_key,
            **cls.settings_values(settings),
        }
        return cls(**with_overrides(values, overrides))

    @property
    def key_slots(self) -> int:
        """Slots one key may hold: ``slots_per_key``, or all but one (at least one)."""
        return self.slots_per_key or max(1, self.max_concurrency - 1)

    def keyring(self, registry: Registry | None) -> KeyRing:
        """The keys the API accepts: the configured ones and those of ``registry``."""
        return KeyRing(configured=self.keys, registry=registry)
