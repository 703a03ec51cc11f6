"""The key ring: a configured key anyone could send is refused; no token is nobody's key."""

from __future__ import annotations

import pytest

from rag.access.keys import ANONYMOUS, KeyRing, new_key
from rag.errors import ConfigError

REAL = "k-hr-7f3a91bc2e4d5860"


@pytest.mark.parametrize("key", ["", "  ", "changeme", f" {REAL}"])
def test_a_ring_built_around_the_settings_refuses_keys_anyone_could_send(key: str):
    # Servers built in code (tests, benchmarks) skip the settings: the ring checks again.
    with pytest.raises(ConfigError, match="a configured API key cannot be used") as refused:
        KeyRing(configured={key: ["hr"], REAL: []})
    assert "changeme" not in str(refused.value)


@pytest.mark.parametrize("token", [None, "", " "])
def test_a_request_without_a_token_is_nobody_while_keys_exist(token: str | None):
    ring = KeyRing(configured={REAL: ["hr"]})
    assert ring.caller(token) is None
    assert ring.caller(REAL) is not None and ring.caller(REAL).access.groups == {"hr"}


def test_only_a_server_with_no_key_at_all_lets_a_tokenless_request_in():
    assert KeyRing().caller(None) is ANONYMOUS
    assert KeyRing().caller(new_key()) is ANONYMOUS  # whatever it sends: public documents only
