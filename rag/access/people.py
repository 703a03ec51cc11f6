"""People who sign in: who is let in, which groups they read, who is an administrator.

Identity comes from the identity provider's ID token claims (OIDC, through the web app's
sign-in). An email counts only when the provider says it is verified (``email_verified``):
anyone can put any address on an account at a public provider, so an unverified one names no
one, and such a person is known by their subject (``sub``) alone.

**Who is let in.** Only who the configuration allows: a subject or verified email listed in
``[ui] allowed_users``, or a verified email in a domain of ``[ui] allowed_domains``; with
``[ui] allow_anyone = true``, everyone the provider signs in (for a provider that only knows
the organisation's own people). With none of these set, nobody is let in and the sign-in page
says which setting to set, since a public provider knows everyone.

**Groups.** The union of two sources: the provider's claim named by ``[ui] groups_claim``
(``groups`` in Keycloak, Okta, Entra ID), and the configuration's ``[ui] user_groups`` mapping
(subject or verified email -> groups). Neither removes what the other grants: the provider is
the source of truth for the organisation, the mapping adds local exceptions a reviewer can
read in one file. A member of ``[access] admin_group`` sees the admin page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Person:
    """Someone who signed in, as the store remembers them.

    Attributes:
        subject: The provider's ``sub`` (stable, unique per provider).
        email: Their verified email, if any.
        name: Their display name.
        groups: The groups they had at their last sign-in.
        first_seen: When they first signed in (Unix time).
        last_seen: Their latest visit.

    """

    subject: str
    email: str | None
    name: str
    groups: tuple[str, ...]
    first_seen: float = 0.0
    last_seen: float = 0.0

    @property
    def label(self) -> str:
        """How the audit trail and the admin page name them: the email, else the subject."""
        return self.email or self.subject


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The email of the claims if the provider vouches for it, else None."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if not isinstance(email, str) or not email or verified not in (True, "true", "True"):
        return None
    return email.strip().casefold()


def admitted(
    claims: Mapping[str, Any],
    allowed_users: Iterable[str],
    allowed_domains: Iterable[str],
    *,
    anyone: bool = False,
) -> bool:
    """Whether the configuration lets this signed-in person in (see the module docstring)."""
    if anyone:
        return True
    subject = str(claims.get("sub") or "")
    email = verified_email(claims)
    users = {user.strip().casefold() for user in allowed_users}
    domains = {domain.strip().lstrip("@").casefold() for domain in allowed_domains}
    if subject and subject.casefold() in users:
        return True
    return email is not None and (email in users or email.rpartition("@")[2] in domains)


def person_groups(
    claims: Mapping[str, Any],
    mapping: Mapping[str, Sequence[str]],
    claim: str | None,
) -> tuple[str, ...]:
    """The groups of a signed-in person: the provider's claim, plus the mapping's, sorted."""
    found: set[str] = set()
    if claim:
        value = claims.get(claim)
        if isinstance(value, str):
            found.update(value.replace(",", " ").split())
        elif isinstance(value, list | tuple):
            found.update(str(item) for item in value)
    folded = {key.casefold(): groups for key, groups in mapping.items()}
    for key in (verified_email(claims), str(claims.get("sub") or "") or None):
        if key and key.casefold() in folded:
            found.update(folded[key.casefold()])
    return tuple(sorted(group.strip() for group in found if group.strip()))
