"""Access rules: globs over a document's path in its folder, first match wins."""

from __future__ import annotations

import pytest

from rag.access.rules import AccessRule, first_match, glob_pattern

RULES = (
    AccessRule("인사/**", ("hr",)),
    AccessRule("**/계약서/*.pdf", ("legal",)),
    AccessRule("공개/*", ()),
    AccessRule("/srv/secret/**", ("ops",)),
    AccessRule("**", ("staff",)),
)


@pytest.mark.parametrize(
    ("key", "absolute", "groups"),
    [
        ("team/인사/salary.md", "/x/team/인사/salary.md", ("hr",)),  # under the ingested folder
        ("인사/salary.md", "/x/team/인사/salary.md", ("hr",)),  # the subfolder ingested alone
        ("team/인사/2025/평가/kim.md", "/x/a.md", ("hr",)),  # ** crosses folders
        ("team/법무/계약서/a.pdf", "/x/a.pdf", ("legal",)),
        ("team/계약서/a.pdf", "/x/a.pdf", ("legal",)),  # **/ also matches no folder
        ("team/법무/계약서/sub/a.pdf", "/x/a.pdf", ("staff",)),  # * stays in one folder
        ("team/공개/notice.md", "/x/notice.md", ()),  # public on purpose
        ("notes.md", "/srv/secret/notes.md", ("ops",)),  # /...: the absolute path
        ("team/인사.md", "/x/team/인사.md", ("staff",)),  # a name, not the folder
    ],
)
def test_the_first_matching_rule_gives_the_groups(key: str, absolute: str, groups: tuple):
    rule = first_match(RULES, key, absolute)
    assert rule is not None and rule.groups == groups


def test_no_rule_matches_outside_every_glob():
    assert first_match(RULES[:2], "team/공지/lunch.md", "/x/team/공지/lunch.md") is None


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("a/?.md", "a/b.md", True),
        ("a/?.md", "a/bc.md", False),
        ("a/[bc].md", "a/c.md", True),
        ("a/[!bc].md", "a/c.md", False),
        ("a.b/*.md", "aXb/x.md", False),  # a dot is a dot
        ("a/**/z.md", "a/z.md", True),
        ("a/**/z.md", "a/b/c/z.md", True),
    ],
)
def test_glob_syntax(glob: str, path: str, matches: bool):
    import re

    assert bool(re.fullmatch(glob_pattern(glob), path)) is matches
