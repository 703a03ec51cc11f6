"""The settings of sources kept in sync: ``[[sources]]`` (folders, sites, repositories), ``[sync]``.

```toml
[[sources]]
name = "wiki"
type = "web"                     # folder | web | git
url = "http://intranet.example/wiki/"
collection = "wiki"
schedule = "30m"
allow_private = true             # an intranet address
```

Which fields a source takes depends on its type: a folder has a ``path``; a site and a
repository a ``url``; a repository a ``branch``; only a site the crawl's limits and
``allow_private``. A field set for a type that does not read it is refused, so a typo in the
type never leaves a setting silently unused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from rag.config.sections import Section

SourceType = Literal["folder", "web", "git"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Fields only some types read (the others are refused when set).
_ONLY_FOR: dict[str, tuple[SourceType, ...]] = {
    "path": ("folder",),
    "url": ("web", "git"),
    "branch": ("git",),
    "allow_private": ("web",),
    "max_pages": ("web",),
    "max_depth": ("web",),
    "max_page_bytes": ("web",),
    "page_timeout_s": ("web",),
}


def duration_seconds(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"1.5h"``, ``"1d"`` in seconds.

    Raises:
        ValueError: Not a number followed by s, m, h or d.

    """
    match = _DURATION.match(text)
    if match is None:
        msg = f"{text!r} is not a duration: write a number and s, m, h or d (30m, 1h)"
        raise ValueError(msg)
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class SourceSettings(Section):
    """One source kept in sync (``[[sources]]``): a folder, an intranet site or a git repository."""

    name: str = Field(
        pattern=r"^\w[\w.-]{0,63}$",
        description="The source's name (letters, digits, '_', '-', '.'): bllossom-rag sync NAME.",
    )
    type: SourceType = Field(description="folder, web (a site from a start URL) or git.")
    path: Path | None = Field(
        default=None, description="folder: the local or mounted folder (relative: to this file)."
    )
    url: str | None = Field(
        default=None,
        description="web: the start URL; the crawl stays on its host and under its folder. "
        "git: the repository's URL or local path.",
    )
    collection: str | None = Field(
        default=None, description="The collection it is synced into; unset: the default one."
    )
    groups: list[str] | None = Field(
        default=None,
        description="Groups that may read its documents, set explicitly like ingest --groups "
        "([]: everyone); unset: the access rules decide.",
    )
    include: list[str] = Field(
        default_factory=list,
        description="Globs of the paths to take (relative to the folder, the repository, or "
        "the site's URL path); empty: everything.",
    )
    exclude: list[str] = Field(
        default_factory=list, description="Globs of the paths to leave out (over include)."
    )
    schedule: str = Field(
        default="1h",
        description="How often sync --watch syncs it (30m, 1h, 1d); folders are also synced "
        "on file-system events.",
    )
    branch: str | None = Field(
        default=None, description="git: the branch to sync; unset: the remote's default branch."
    )
    allow_private: bool = Field(
        default=False,
        description="web: allow private, loopback and link-local addresses (an intranet); "
        "otherwise only public ones are fetched.",
    )
    max_pages: int = Field(default=1000, ge=1, description="web: requests of one sync.")
    max_depth: int = Field(default=10, ge=0, description="web: links followed from the start URL.")
    max_bytes: int = Field(
        default=1024**3,
        ge=1,
        description="web: bytes downloaded by one sync; git: size of the checked-out files.",
    )
    max_page_bytes: int | None = Field(
        default=None,
        ge=1,
        description="web: largest response, bytes; unset: ingest.max_file_bytes.",
    )
    page_timeout_s: float = Field(
        default=30.0, gt=0, description="web: seconds for one response, first byte to last."
    )
    max_seconds: float = Field(
        default=1800.0, gt=0, description="web: seconds for one crawl; git: for each git command."
    )

    @field_validator("schedule")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value

    @field_validator("path")
    @classmethod
    def _absolute_folder(cls, value: Path | None) -> Path | None:
        return value.expanduser().absolute() if value is not None else None

    @model_validator(mode="after")
    def _fits_its_type(self) -> SourceSettings:
        where = f"source {self.name!r}"
        for name, types in _ONLY_FOR.items():
            if name in self.model_fields_set and self.type not in types:
                only = " or ".join(types)
                msg = f"{where}: {name} is for {only} sources, not {self.type}"
                raise ValueError(msg)
        if self.type == "folder" and self.path is None:
            msg = f'{where}: a folder source needs path = "/the/folder"'
            raise ValueError(msg)
        if self.type != "folder" and not self.url:
            msg = f'{where}: a {self.type} source needs url = "..."'
            raise ValueError(msg)
        if self.type == "web":
            parts = urlsplit(self.url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                msg = f"{where}: url must be an http:// or https:// address, not {self.url!r}"
                raise ValueError(msg)
        if self.type == "git" and (self.url or "").startswith(("-", "ext::")):
            msg = f"{where}: url {self.url!r} is not a repository URL or path"
            raise ValueError(msg)
        return self

    @property
    def schedule_s(self) -> float:
        """The schedule in seconds."""
        return duration_seconds(self.schedule)

    def collection_or(self, default: str) -> str:
        """The collection it syncs into."""
        return self.collection or default


class SyncSettings(Section):
    """How sources are synced: the watch mode's pause, and how a crawler introduces itself."""

    debounce_s: float = Field(
        default=2.0,
        gt=0,
        description="sync --watch waits this long after a folder's last change before syncing.",
    )
    user_agent: str = Field(
        default="bllossom-rag-sync/1",
        min_length=1,
        description="User-Agent of web sources' requests, and the name robots.txt is read for.",
    )
