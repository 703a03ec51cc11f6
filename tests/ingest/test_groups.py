"""A re-ingest never widens access silently: rules, flags and moves, in every order, both stores.

The repro that started it: ``ingest team/인사/salary_bands_2025.md --groups hr`` then a routine
``ingest team/`` made the salary file public. Each case below ingests a team folder in some
order of explicit groups (``--groups``), access rules and moves, then checks the salary file's
groups, that an outsider's search never finds it, that a member's does, that every change was
reported in the ingest summary and put on the audit trail, and that ``docs list --json`` says
where the groups came from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.stores import BACKENDS

SALARY = "시니어 엔지니어의 급여 밴드는 S3이며 연봉 범위는 9천만 원에서 1억 2천만 원이다."
QUESTION = "시니어 엔지니어의 급여 밴드와 연봉 범위는?"
RULE_HR = {"path": "인사/**", "groups": ["hr"]}
RULE_EXEC = {"path": "**/salary_*", "groups": ["exec"]}


@pytest.fixture(params=BACKENDS)
def team_cli(request: pytest.FixtureRequest, cli: Cli, tmp_path: Path) -> Cli:
    """The command line on a fresh store of each backend, with a team folder beside it."""
    team = tmp_path / "team"
    (team / "인사").mkdir(parents=True)
    (team / "공지").mkdir()
    (team / "인사" / "salary_bands_2025.md").write_text(f"# 급여 밴드\n\n{SALARY}\n", "utf-8")
    (team / "공지" / "lunch.md").write_text("# 식당\n\n식당은 12시에 엽니다.\n", "utf-8")
    env = dict(cli.env)
    if request.param == "postgres":
        env["BLLOSSOM_RAG_STORE__URL"] = request.getfixturevalue("store_url")
    return Cli(env)


def with_rules(*rules: dict) -> dict[str, str]:
    """The variable that sets the access rules for one run."""
    return {"BLLOSSOM_RAG_ACCESS__RULES": json.dumps(list(rules), ensure_ascii=False)}


def salary(cli: Cli) -> dict:
    return next(d for d in cli.json("docs", "list") if d["source"].endswith("salary_bands_2025.md"))


def sees_salary(cli: Cli, *groups: str) -> bool:
    args = ["ask", QUESTION, "--k", "5"] + (["--user-groups", ",".join(groups)] if groups else [])
    answer = cli.json(*args)
    return any(s["source"].endswith("salary_bands_2025.md") for s in answer["sources"])


def ingest(cli: Cli, target: Path, *args: str, **env: str) -> dict:
    return cli.json("ingest", str(target), *args, **env)


@pytest.mark.slow
def test_a_routine_parent_ingest_keeps_the_flagged_groups(team_cli: Cli, tmp_path: Path):
    team = tmp_path / "team"
    ingest(team_cli, team / "인사" / "salary_bands_2025.md", "--groups", "hr")
    report = ingest(team_cli, team)  # the routine re-ingest, no --groups
    assert report["access_changes"] == []
    held = salary(team_cli)
    assert (held["groups"], held["groups_origin"]) == (["hr"], "flag")
    assert not sees_salary(team_cli) and sees_salary(team_cli, "hr")


@pytest.mark.slow
def test_rules_give_groups_and_outlive_their_own_removal(team_cli: Cli, tmp_path: Path):
    team = tmp_path / "team"
    ingest(team_cli, team, **with_rules(RULE_HR))
    held = salary(team_cli)
    assert (held["groups"], held["groups_origin"], held["groups_rule"]) == (
        ["hr"], "rule", "인사/**",
    )  # fmt: skip
    # the rule is edited away: the document keeps its groups (never widened silently)
    report = ingest(team_cli, team)
    assert report["access_changes"] == [] and salary(team_cli)["groups"] == ["hr"]
    assert not sees_salary(team_cli)
    # a subfolder ingested alone still meets the rule written for the parent's layout
    (team / "인사" / "salary_bands_2025.md").write_text(f"# 급여\n\n{SALARY} 갱신.\n", "utf-8")
    ingest(team_cli, team / "인사", **with_rules(RULE_EXEC, RULE_HR))
    assert salary(team_cli)["groups"] == ["exec"]  # the first matching rule wins


@pytest.mark.slow
def test_a_rule_narrows_and_says_so_but_an_explicit_setting_wins(team_cli: Cli, tmp_path: Path):
    team = tmp_path / "team"
    ingest(team_cli, team)  # no rule yet: public
    assert salary(team_cli)["groups"] == [] and sees_salary(team_cli)
    report = ingest(team_cli, team, **with_rules(RULE_HR))
    [change] = report["access_changes"]
    assert (change["before"], change["after"], change["origin"]) == ([], ["hr"], "rule")
    assert change["path"].endswith("salary_bands_2025.md")
    assert not sees_salary(team_cli)
    # an explicit setting wins over the rule, and later rule-driven runs keep it
    changed = team_cli.json("docs", "access", salary(team_cli)["id"], "--groups", "hr,exec")
    assert changed[0]["after"] == ["exec", "hr"]
    report = ingest(team_cli, team, **with_rules(RULE_HR))
    assert report["access_changes"] == [] and salary(team_cli)["groups"] == ["exec", "hr"]
    assert salary(team_cli)["groups_origin"] == "flag"
    trail = tmp_path / "trail.jsonl"
    team_cli("audit", "export", str(trail))
    entries = [json.loads(line) for line in trail.read_text("utf-8").splitlines()]
    access = [e for e in entries if e["action"] == "access"]
    assert [e["documents"] for e in access] == [[salary(team_cli)["id"]]] * 2
    assert [e["detail"]["after"] for e in access] == [["hr"], ["exec", "hr"]]


@pytest.mark.slow
def test_a_moved_restricted_file_keeps_its_groups(team_cli: Cli, tmp_path: Path):
    team = tmp_path / "team"
    ingest(team_cli, team, "--groups", "hr")
    moved = tmp_path / "team" / "archive"
    moved.mkdir()
    shutil.move(team / "인사" / "salary_bands_2025.md", moved / "salary_bands_2025.md")
    report = ingest(team_cli, team, "--prune")
    assert report["access_changes"] == []
    held = salary(team_cli)
    assert held["source"].endswith("archive/salary_bands_2025.md") and held["groups"] == ["hr"]
    assert not sees_salary(team_cli)


@pytest.mark.slow
def test_an_explicit_empty_flag_makes_public_and_says_so(team_cli: Cli, tmp_path: Path):
    team = tmp_path / "team"
    ingest(team_cli, team, **with_rules(RULE_HR))
    report = ingest(team_cli, team / "인사", "--groups", "")
    [change] = report["access_changes"]
    assert (change["before"], change["after"], change["origin"]) == (["hr"], [], "flag")
    assert sees_salary(team_cli)
