"""Access rules: which groups a document gets from where its file lies, as configuration.

```toml
[[access.rules]]
path = "인사/**"
groups = ["hr"]
```

A rule's ``path`` is a glob over a document's path relative to the folder it was ingested from
(``ingest team/`` makes ``team/인사/salary.md`` the path ``인사/salary.md``); it is also tried
against that path with the folder's own name first (``team/인사/salary.md``), so a rule still
applies when a subfolder is ingested on its own, and a rule that starts with ``/`` is matched
against the absolute path. ``*`` stays inside one folder, ``**`` crosses folders (``**/`` also
matches no folder at all), ``?`` is one character, ``[abc]`` one of a set. The first matching
rule wins; ``groups = []`` makes the documents it matches public on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.config import Settings


@dataclass(frozen=True)
class AccessRule:
    """Documents whose path matches ``path`` are readable by ``groups`` (empty: everyone)."""

    path: str
    groups: tuple[str, ...]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The glob as a regular expression over a whole path."""
        return re.compile(glob_pattern(self.path))

    def matches(self, paths: Iterable[str]) -> bool:
        """Whether any of ``paths`` (one document's, in their forms) matches the glob."""
        return any(self.pattern.fullmatch(path) for path in paths)


def access_rules(settings: Settings) -> tuple[AccessRule, ...]:
    """The configured rules (``[[access.rules]]``), in order, groups sorted and de-duplicated."""
    return tuple(
        AccessRule(rule.path, tuple(sorted({g.strip() for g in rule.groups if g.strip()})))
        for rule in settings.access.rules
    )


def first_match(rules: Sequence[AccessRule], key: str, absolute: str) -> AccessRule | None:
    """The first rule matching a document, by its key (``team/인사/salary.md``) and its path.

    Args:
        rules: The rules, in order.
        key: Its path with the ingested folder's name first (a file named alone: its name).
        absolute: The absolute path it is recorded under.

    """
    relative = key.split("/", 1)[1] if "/" in key else key
    forms = (relative, key)
    for rule in rules:
        if rule.matches((absolute,) if rule.path.startswith("/") else forms):
            return rule
    return None


def glob_pattern(glob: str) -> str:
    """A glob (``**``, ``*``, ``?``, ``[...]``) as a regular expression for a whole path."""
    glob = str(PurePosixPath(glob)) if glob else glob  # "a//b/" -> "a/b"
    parts: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif char == "*":
            parts.append("[^/]*")
            i += 1
        elif char == "?":
            parts.append("[^/]")
            i += 1
        elif char == "[" and (end := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            parts.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        else:
            parts.append(re.escape(char))
            i += 1
    return "".join(parts)
