"""Where settings come from: the TOML file, the variables, and the old flat names of both.

Strict by design: an unknown key in the file or an unknown ``BLLOSSOM_RAG_*`` variable is an
error naming the close match, not silently ignored, because a typo such as ``top-k = 7`` would
otherwise leave the default in force with nothing to say so. Relative paths in the file resolve
against the file's folder, so a configuration means the same thing from any working directory.
An old flat name (:mod:`rag.config.legacy`) sets its new setting and logs one line; one value set
under both names is refused rather than guessed at.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr

from rag.config.legacy import RENAMED
from rag.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

logger = logging.getLogger("bllossom_rag.config")

ENV_PREFIX = "BLLOSSOM_RAG_"
NESTED = "__"
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "bllossom-rag.toml"
DEFAULT_COLLECTION = "default"
# Variables in the prefix that are not settings: the configuration file itself, and two that
# only the test suite and the benchmarks read (the shared datasets folder, the browser binary).
NOT_SETTINGS = frozenset({CONFIG_FILE_ENV, f"{ENV_PREFIX}SHARED", f"{ENV_PREFIX}CHROMIUM"})
# Settings holding a folder, and model settings that may (a hub name may not), resolved against
# the configuration file's folder when given there as relative paths.
FOLDER_SETTINGS = ("data_dir", "embedding.cache_dir")
MODEL_SETTINGS = ("embedding.model", "generation.model", "retrieval.reranker_model")
# A part of a setting's path: a name, and the index of an item of a list of tables.
_ITEM = re.compile(r"([^.\[\]]*)(?:\[(\d+)\])?")
# Settings that are not SecretStr but hold secrets: api.keys is keyed by the keys themselves.
SECRET_MAPPINGS = frozenset({"api.keys"})


class Schema:
    """The settings' shape: every setting's dotted path, its field, whether it is secret.

    Args:
        root: The settings model (:class:`~rag.config.settings.Settings`).

    """

    def __init__(self, root: type[BaseModel]) -> None:
        self.root = root

    def paths(self, model: type[BaseModel] | None = None, prefix: str = "") -> Iterator[str]:
        """Every setting's dotted path, sections included (``retrieval``, ``retrieval.top_k``)."""
        for name, field in (model or self.root).model_fields.items():
            path = f"{prefix}{name}"
            yield path
            section = section_type(field.annotation)
            if section is not None:
                yield from self.paths(section, f"{path}.")

    def field(self, path: str) -> Any:
        """The pydantic field info of a dotted path (None when the path names nothing).

        An item of a list of tables is named by its index: ``sources[0].url``.
        """
        model: type[BaseModel] | None = self.root
        field = None
        for part in path.split("."):
            name, index = _ITEM.fullmatch(part).groups()  # type: ignore[union-attr]
            if model is None or name not in model.model_fields:
                return None
            field = model.model_fields[name]
            model = section_type(field.annotation)
            if index is not None:
                model = item_section(field.annotation)
                if model is None:
                    return None
        return field

    def is_complex(self, path: str) -> bool:
        """Whether a setting holds a list or a mapping (its variable's value is JSON)."""
        field = self.field(path)
        return field is not None and get_origin(field.annotation) in (dict, list)

    def is_secret(self, path: str) -> bool:
        """Whether a setting's value must never be shown (a key, a URL with a password)."""
        field = self.field(path)
        return path in SECRET_MAPPINGS or (
            field is not None and SecretStr in (field.annotation, *get_args(field.annotation))
        )

    def path_of(self, variable: str) -> str | None:
        """The setting a variable (new or old name) sets, if any."""
        for path in self.paths():
            if variable == variable_of(path):
                return path
        for old, path in RENAMED.items():
            if variable == f"{ENV_PREFIX}{old.upper()}":
                return path
        return None


def variable_of(path: str) -> str:
    """The variable of a dotted path: ``retrieval.top_k`` -> ``BLLOSSOM_RAG_RETRIEVAL__TOP_K``."""
    return ENV_PREFIX + path.upper().replace(".", NESTED)


def section_type(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds, or None for a plain setting."""
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def item_section(annotation: Any) -> type[BaseModel] | None:
    """The table model of a list of tables (``[[sources]]``), or None for anything else."""
    if get_origin(annotation) is not list:
        return None
    return section_type(next(iter(get_args(annotation)), None))


def table_form(path: str) -> str:
    """How a setting is written in the file: ``[retrieval] top_k``, ``data_dir``, ``url of ...``.

    An item of a list of tables is named by its number: ``url of [[sources]] #1``.
    """
    section, _, key = path.rpartition(".")
    parent, _, last = section.rpartition(".")
    item = _ITEM.fullmatch(last)
    if item is not None and item.group(2) is not None:
        table = f"{parent}.{item.group(1)}" if parent else item.group(1)
        return f"{key} of [[{table}]] #{int(item.group(2)) + 1}"
    return f"[{section}] {key}" if section else key


def shown_variable(variable: str, path: str, schema: Schema) -> str:
    """A variable and its value for a message, or ``<hidden>`` for a secret's."""
    if schema.is_secret(path):
        return f"{variable}=<hidden>"
    return f"{variable}={os.environ[variable]!r}"


def config_file() -> Path | None:
    """The TOML file in force: the one ``BLLOSSOM_RAG_CONFIG`` names, else the working folder's.

    Raises:
        ConfigError: ``BLLOSSOM_RAG_CONFIG`` names something that is not a file.

    """
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        if not Path(named).is_file():
            msg = f"{CONFIG_FILE_ENV} names {named!r}, which is not a file"
            raise ConfigError(msg)
        return Path(named)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def read_config_file(path: Path, schema: Schema) -> dict[str, Any]:
    """A configuration file's settings: keys checked, old names moved, relative paths resolved.

    Raises:
        ConfigError: The file is not valid TOML (file, line and column), has an unknown key, or
            sets one value under its old and its new name.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        msg = f"{path}: not valid TOML: {error}"
        raise ConfigError(msg) from None
    except OSError as error:
        msg = f"{path}: cannot read the configuration file ({error.strerror})"
        raise ConfigError(msg) from None
    for old in [key for key in data if key in RENAMED]:
        _place(data, RENAMED[old], data.pop(old), f"{path}: {old}")
        logger.warning("%s: %s is an old name; write %s", path, old, table_form(RENAMED[old]))
    _check_keys(data, schema.root, "", path)
    folder = path.resolve().parent
    for key in FOLDER_SETTINGS:
        value = _get(data, key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            _set(data, key, str(folder / value))
    for key in MODEL_SETTINGS:
        value = _get(data, key)
        if isinstance(value, str) and (value.startswith(".") or (folder / value).is_dir()):
            _set(data, key, str(folder / value))
    for source in data.get("sources", []):
        _resolve_source(source, folder)
    return data


def _resolve_source(source: Any, folder: Path) -> None:
    """A source's relative folder, or relative path of a local repository, against ``folder``."""
    if not isinstance(source, dict):
        return
    where = source.get("path")
    if isinstance(where, str) and not Path(where).expanduser().is_absolute():
        source["path"] = str(folder / where)
    url = source.get("url")
    if source.get("type") == "git" and isinstance(url, str) and url.startswith("."):
        source["url"] = str(folder / url)


def legacy_environment(environ: Mapping[str, str], schema: Schema) -> dict[str, Any]:
    """Settings from variables with the old flat names (``BLLOSSOM_RAG_TOP_K``), noted.

    Raises:
        ConfigError: A value is set under the old and the new variable, or is not valid JSON
            where the setting holds a list or a mapping.

    """
    values: dict[str, Any] = {}
    upper = {name.upper(): name for name in environ}
    for old, path in RENAMED.items():
        variable = upper.get(f"{ENV_PREFIX}{old.upper()}")
        if variable is None:
            continue
        if variable_of(path) in upper:
            msg = f"{variable} and {variable_of(path)} are both set; remove {variable}"
            raise ConfigError(msg)
        text = environ[variable]
        value: Any = text
        if schema.is_complex(path):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                shown = shown_variable(variable, path, schema)
                msg = f"invalid setting {path} ({shown}): not valid JSON"
                raise ConfigError(msg) from None
        _place(values, path, value, variable)
        logger.warning("%s is an old name; use %s", variable, variable_of(path))
    return values


def check_environment(environ: Mapping[str, str], schema: Schema) -> None:
    """Refuse a ``BLLOSSOM_RAG_*`` variable that names no setting (``..._TOPK``).

    Raises:
        ConfigError: The variable and its close match.

    """
    known = {variable_of(path) for path in schema.paths()}
    old = {f"{ENV_PREFIX}{name.upper()}": variable_of(path) for name, path in RENAMED.items()}
    for variable in environ:
        name = variable.upper()
        if name.startswith(ENV_PREFIX) and name not in known | old.keys() | NOT_SETTINGS:
            close = close_match(name, known | old.keys() | NOT_SETTINGS)
            close = old.get(close, close) if close else None
            also = f" (did you mean {close}?)" if close else ""
            msg = f"unknown environment variable {variable}{also}"
            raise ConfigError(msg)


def _check_keys(data: Mapping[str, Any], model: type[BaseModel], prefix: str, path: Path) -> None:
    """Refuse a key of ``data`` that names no setting of ``model``, with its close match."""
    known = model.model_fields
    for key, value in data.items():
        if key not in known:
            candidates = {f"{prefix}{name}" for name in known}
            if not prefix:
                candidates |= RENAMED.keys()
            close = close_match(f"{prefix}{key}", candidates)
            close = RENAMED.get(close, close) if close else None
            also = f" (did you mean {close}?)" if close else ""
            msg = f"{path}: unknown setting {prefix + key!r}{also}"
            raise ConfigError(msg)
        section = section_type(known[key].annotation)
        if section is not None and isinstance(value, Mapping):
            _check_keys(value, section, f"{prefix}{key}.", path)
        item = item_section(known[key].annotation)
        if item is not None and isinstance(value, list):
            for index, entry in enumerate(value):
                if isinstance(entry, Mapping):
                    _check_keys(entry, item, f"{prefix}{key}[{index}].", path)


def _place(values: dict[str, Any], path: str, value: Any, old: str) -> None:
    """Set ``path`` in nested ``values`` from its ``old`` name, unless the new name set it."""
    if _get(values, path) is not None:
        msg = f"{old} sets {path}, which is set under its new name too; keep one"
        raise ConfigError(msg)
    _set(values, path, value)


def _get(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    *sections, leaf = path.split(".")
    node = values
    for part in sections:
        node = node.setdefault(part, {})
    node[leaf] = value


def close_match(name: str, known: set[str] | frozenset[str]) -> str | None:
    """The known name closest to ``name`` (case and ``-``/``_`` aside), if one is close."""
    normalized = {candidate.lower().replace("-", "_"): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower().replace("-", "_"), normalized, n=1)
    return normalized[close[0]] if close else None
