"""Who is let in and with which groups: verified emails only, claim and mapping together."""

from __future__ import annotations

import pytest

from rag.access.people import admitted, person_groups, verified_email

KIM = {"sub": "u-1", "email": "Kim@Corp.Example", "email_verified": True, "groups": ["hr"]}
UNVERIFIED = {"sub": "u-2", "email": "ceo@corp.example", "email_verified": False}
NO_FLAG = {"sub": "u-3", "email": "ceo@corp.example"}


def test_only_a_verified_email_counts():
    assert verified_email(KIM) == "kim@corp.example"
    assert verified_email({**KIM, "email_verified": "true"}) == "kim@corp.example"
    assert verified_email(UNVERIFIED) is None
    assert verified_email(NO_FLAG) is None


@pytest.mark.parametrize(
    ("claims", "users", "domains", "anyone", "expected"),
    [
        (KIM, [], [], False, False),  # nothing configured: nobody
        (KIM, [], ["corp.example"], False, True),
        (KIM, [], ["@CORP.example"], False, True),
        (KIM, ["kim@corp.example"], [], False, True),
        (KIM, ["u-1"], [], False, True),  # by subject
        (UNVERIFIED, [], ["corp.example"], False, False),  # an address anyone can type
        (NO_FLAG, ["ceo@corp.example"], [], False, False),
        (NO_FLAG, ["u-3"], [], False, True),
        (KIM, [], ["other.example"], False, False),
        ({**KIM, "email": "kim@corp.example.evil"}, [], ["corp.example"], False, False),
        (UNVERIFIED, [], [], True, True),  # allow_anyone
    ],
)
def test_admission(claims, users, domains, anyone, expected):
    assert admitted(claims, users, domains, anyone=anyone) is expected


def test_groups_are_the_claim_and_the_mapping_together():
    mapping = {"KIM@corp.example": ["legal", " ops "], "u-2": ["sales"], "ceo@corp.example": ["x"]}
    assert person_groups(KIM, mapping, "groups") == ("hr", "legal", "ops")
    assert person_groups(KIM, mapping, None) == ("legal", "ops")  # the claim is not read
    assert person_groups({**KIM, "groups": "hr, finance"}, {}, "groups") == ("finance", "hr")
    # an unverified email maps to nothing; the subject still does
    assert person_groups(UNVERIFIED, mapping, "groups") == ("sales",)
