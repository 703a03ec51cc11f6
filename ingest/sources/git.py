"""A git source: a repository's branch, checked out in ``data_dir/sources/<name>``.

The first sync clones the branch alone (no tags, no other branches); later syncs fetch it and
check the new commit out in place, so only files that changed are rewritten and everything
else is found unchanged by its hash. The commit synced is the sync's cursor (``sync --json``:
``commit``; the dashboard). The repository's size is checked from its tree before anything is
checked out (``max_bytes``), and every git command has ``max_seconds``.

Git runs with only the file, git, http(s) and ssh transports allowed (never ``ext::``, which runs
commands), no prompts, no system configuration and no LFS downloads; the clone's own
configuration is ours, and a repository cannot bring hooks. Symlinks that lead out of the
checkout are refused by discovery like any folder's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from ingest.discovery import find_files
from ingest.sources.base import Snapshot, Source, SourceError

_ENVIRONMENT = {
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_LFS_SKIP_SMUDGE": "1",
    "GIT_ASKPASS": "true",
    "LC_ALL": "C",
}
_SAFE = ("-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null")


class GitSource(Source):
    """A branch of a repository (``url``: a URL or a local path; ``branch``; include globs)."""

    def snapshot(self) -> Snapshot:
        """Fetch the branch and check its newest commit out.

        Raises:
            SourceError: Git is missing, the repository cannot be fetched, the branch does not
                exist, or the commit is over ``max_bytes``.

        """
        checkout = self.context.folder
        url = str(self.settings.url)
        if not (checkout / ".git").is_dir() or self._git("config", "remote.origin.url") != url:
            self._clone(url, checkout)
        branch = self.settings.branch or self._default_branch()
        self._git(
            "fetch", "--no-tags", "--force", "origin",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        )  # fmt: skip
        commit = self._git("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}")
        self._check_size(commit)
        self._git("checkout", "--quiet", "--force", "--detach", commit)
        self._git("clean", "-ffdxq")
        root = checkout.resolve()
        return Snapshot(root, self.select(find_files([root], allow_missing=True), root), commit)

    def _clone(self, url: str, checkout: Path) -> None:
        """A fresh clone of the branch, put in place only once it is complete."""
        staging = checkout.with_name(f".{checkout.name}.clone-{secrets.token_hex(4)}")
        arguments = ["clone", "--quiet", "--no-tags", "--single-branch", "--no-checkout"]
        if self.settings.branch:
            arguments += ["--branch", self.settings.branch]
        try:
            self._git(*arguments, "--", url, str(staging), where=checkout.parent)
            shutil.rmtree(checkout, ignore_errors=True)
            staging.rename(checkout)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _default_branch(self) -> str:
        """The branch the remote's HEAD points at."""
        listed = self._git("ls-remote", "--symref", "origin", "HEAD")
        for line in listed.splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.removeprefix("ref: refs/heads/").split("\t")[0]
        msg = f"source {self.settings.name!r}: the repository has no default branch; set branch"
        raise SourceError(msg)

    def _check_size(self, commit: str) -> None:
        """Refuse a commit whose files are over ``max_bytes`` before checking it out."""
        listing = self._git("ls-tree", "-r", "-l", "-z", commit)
        size = 0
        for entry in listing.split("\0"):
            fields = entry.split(maxsplit=4)
            if len(fields) == 5 and fields[1] == "blob" and fields[3].isdigit():
                size += int(fields[3])
        if size > self.settings.max_bytes:
            msg = (
                f"source {self.settings.name!r}: commit {commit[:12]} holds {size:,} bytes, over "
                f"max_bytes ({self.settings.max_bytes:,}); narrow it with include globs or "
                "raise the limit"
            )
            raise SourceError(msg)

    def _git(self, *arguments: str, where: Path | None = None) -> str:
        """Run git in the checkout (or ``where``); its output, or one line on failure."""
        folder = where or self.context.folder
        folder.mkdir(parents=True, exist_ok=True)
        name = self.settings.name
        try:
            done = subprocess.run(
                ["git", *_SAFE, *arguments],
                cwd=folder,
                env={**os.environ, **_ENVIRONMENT},
                capture_output=True,
                text=True,
                timeout=self.settings.max_seconds,
                check=False,
            )
        except FileNotFoundError:
            msg = f"source {name!r}: git is not installed (apt-get install git)"
            raise SourceError(msg) from None
        except subprocess.TimeoutExpired:
            msg = f"source {name!r}: git {arguments[0]} took over {self.settings.max_seconds:g} s"
            raise SourceError(msg) from None
        if done.returncode != 0:
            said = [line for line in done.stderr.splitlines() if line.strip()]
            reason = said[-1].strip() if said else f"exit status {done.returncode}"
            msg = f"source {name!r}: git {arguments[0]} failed: {reason}"
            raise SourceError(msg)
        return done.stdout.strip()
