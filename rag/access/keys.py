"""API keys: made once, stored as a hash, checked on every request, revoked with no restart.

``bllossom-rag keys create NAME --groups hr`` prints a new key once; the store keeps only its
SHA-256 with the key's name, groups, scopes, creation and last use. A key is 256 random bits,
so a fast hash is the right one (a password hash would add latency to every request and no
security: nothing is guessable to brute-force). On each request the servers hash the bearer
token and look the hash up, so a key revoked a moment ago is refused on its next request by
every instance that shares the store.

Keys written in the configuration (``[api] keys``, ``[worker] api_key``) keep working beside
them, compared in constant time: the quick way for one machine.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from rag.access.rights import PUBLIC, Access
from rag.config.sections import key_problem
from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.access.registry import Registry

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
KEY_PREFIX = "brk_"
# A key's last use is written at most this often (a request must not cost a write each time).
TOUCH_EVERY_S = 60.0
# How long a server with no key at all trusts that answer before asking the store again.
OPEN_CHECK_EVERY_S = 2.0


@dataclass(frozen=True)
class ApiKey:
    """A key as the store keeps it: never the key itself.

    Attributes:
        name: Who or what it is for; unique; what the audit trail records.
        digest: SHA-256 of the key, hex.
        groups: What it may read.
        scopes: ``read`` (ask, search, list) and ``write`` (push and delete documents).
        created_at: When it was made (Unix time).
        last_used_at: Its last accepted request, to the minute; None when never used.
        revoked_at: When it was revoked; None while it works.

    """

    name: str
    digest: str
    groups: tuple[str, ...] = ()
    scopes: tuple[Scope, ...] = ("read",)
    created_at: float = 0.0
    last_used_at: float | None = None
    revoked_at: float | None = None


def new_key() -> str:
    """A fresh key: ``brk_`` and 43 URL-safe characters (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """What the store keeps of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, once its key is accepted.

    Attributes:
        name: The key's name (``config key 1a2b3c4d`` for a key from the configuration).
        access: What it may read.
        scopes: What it may do.

    """

    name: str
    access: Access = PUBLIC
    scopes: frozenset[Scope] = frozenset({"read"})

    def may(self, scope: Scope) -> bool:
        """Whether the caller holds ``scope``."""
        return scope in self.scopes


ANONYMOUS = Caller("anonymous")


@dataclass
class KeyRing:
    """Every key a server accepts: the configuration's and the store's.

    A request needs a working key, except while the server has no key at all (none configured,
    none ever made in the store): then every request is :data:`ANONYMOUS`, which reads the
    unrestricted documents only, whatever key it sends. The store is asked again every few
    seconds, so the first key made with ``keys create`` closes an open server without a
    restart.

    Args:
        configured: Key -> groups, from the configuration (``[api] keys``); read scope.
        writers: Keys from the configuration that may also write (the worker's own key).
        registry: The store's keys, looked up by hash on each request; None: none.

    """

    configured: Mapping[str, Sequence[str]] = field(default_factory=dict)
    writers: frozenset[str] = frozenset()
    registry: Registry | None = None
    _touched: dict[str, float] = field(default_factory=dict, repr=False)
    _open_until: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        """Refuse configured keys that anyone could send (the settings refuse them first).

        Raises:
            ConfigError: A configured key is empty, blank or short (the key is not repeated).

        """
        for key in self.configured:
            problem = key_problem(key)
            if problem is not None:
                msg = f"a configured API key cannot be used: {problem}"
                raise ConfigError(msg)

    def caller(self, token: str | None) -> Caller | None:
        """Who a request's bearer token (None: it sent none) belongs to; None means 401.

        A request without a token is never anyone's: only a server with no key at all lets it
        in, as :data:`ANONYMOUS`.
        """
        found = self._known(token) if token else None
        if found is None and self._open():
            return ANONYMOUS  # no key exists anywhere: whatever was sent, public documents only
        return found

    def _known(self, token: str) -> Caller | None:
        """The caller of a configured key or a working stored one."""
        found: Caller | None = None
        for key, groups in self.configured.items():  # every key compared: constant time
            if hmac.compare_digest(key.encode(), token.encode()):
                scopes: frozenset[Scope] = frozenset(SCOPES if key in self.writers else ("read",))
                name = f"config key {key_digest(key)[:8]}"
                found = Caller(name, Access.for_groups(groups), scopes)
        if found is not None or self.registry is None:
            return found
        stored = self.registry.key_by_digest(key_digest(token))
        if stored is None or stored.revoked_at is not None:
            return None
        self._touch(stored.name)
        return Caller(stored.name, Access.for_groups(stored.groups), frozenset(stored.scopes))

    def _open(self) -> bool:
        """Whether no key exists anywhere (the store's answer kept for a few seconds)."""
        if self.configured:
            return False
        if self.registry is None:
            return True
        now = time.monotonic()
        if now < self._open_until:
            return True
        if self.registry.api_keys():
            return False
        self._open_until = now + OPEN_CHECK_EVERY_S
        return True

    def _touch(self, name: str) -> None:
        now = time.time()
        with self._lock:
            if now - self._touched.get(name, 0.0) < TOUCH_EVERY_S:
                return
            self._touched[name] = now
        assert self.registry is not None
        self.registry.touch_key(name, now)
