"""The command line run in the test's own process, with its settings as variables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from ui.cli import app


@dataclass
class Cli:
    """``bllossom-rag`` run in this process, with its settings as environment variables.

    ``env`` holds the variables set for each run; a value of None unsets one. Output is as
    wide as a real terminal of 200 columns, so table cells are not cut.
    """

    env: dict[str, str | None]

    @property
    def data_dir(self) -> Path:
        return Path(str(self.env["BLLOSSOM_RAG_DATA_DIR"]))

    def __call__(self, *args: str, stdin: str | None = None, **env: str | None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            app,
            list(args),
            input=stdin,
            env={"COLUMNS": "200", **self.env, **env},
            catch_exceptions=False,
        )

    def json(self, *args: str, **env: str | None) -> Any:
        """Run with ``--json``; the command must succeed and print one JSON document."""
        result = self(*args, "--json", **env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
