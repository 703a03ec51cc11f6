"""All configuration in one place: :class:`Settings`, its sources, and one line per mistake.

Every command, server and the web app read one :class:`Settings` object. Values come, highest
priority first, from explicit arguments, environment variables, and a TOML file
(``bllossom-rag.toml`` in the working directory, or the file named by ``BLLOSSOM_RAG_CONFIG``).
Settings are grouped into sections (:mod:`rag.config.sections`): a TOML table each
(``[retrieval]``, ``[retrieval.fusion]``), and variables ``BLLOSSOM_RAG_<SECTION>__<KEY>``
(``BLLOSSOM_RAG_RETRIEVAL__TOP_K``). The flat names of earlier releases still work, with a note
(:mod:`rag.config.legacy`). Model settings take a hub name or a local folder; nothing is loaded
or downloaded here, so importing this module stays cheap.

Strict by design: an unknown key in the file or an unknown ``BLLOSSOM_RAG_*`` variable is an
error (with the close match), not silently ignored, because a typo such as ``top-k = 7`` would
otherwise leave the default in force with nothing to say so. Relative paths in the file resolve
against the file's folder, so a configuration means the same thing from any working directory.
Every failure is one :class:`ConfigError` line naming the setting and where its value came from.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from rag.config.legacy import RENAMED
from rag.config.sections import (
    ApiSettings,
    ConversationSettings,
    EmbeddingSettings,
    GenerationSettings,
    IngestSettings,
    RetrievalSettings,
    ServerSettings,
    StoreSettings,
    UiSettings,
    WorkerSettings,
)
from rag.errors import ConfigError
from rag.images import DEFAULT_MAX_IMAGE_PIXELS
from rag.runtime.models import check_device_name

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
_FOLDER_SETTINGS = ("data_dir", "embedding.cache_dir")
_MODEL_SETTINGS = ("embedding.model", "generation.model", "retrieval.reranker_model")
# Settings that are not SecretStr but hold secrets: api.keys is keyed by the keys themselves.
_SECRET_MAPPINGS = frozenset({"api.keys"})


class Settings(BaseSettings):
    """Configuration shared by the command line, the servers and the web app."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED, extra="forbid"
    )

    data_dir: Path = Field(
        default=Path(".bllossom-rag"), description="Store folder: SQLite, FAISS views, images."
    )
    collection: str = Field(default=DEFAULT_COLLECTION, description="Default collection name.")
    device: str = Field(
        default="auto", description="Where models run: 'auto', 'cpu', 'cuda' or 'cuda:N'."
    )
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS,
        ge=1,
        description="Larger images (files, figures, a question's images) are refused before "
        "decoding.",
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    conversation: ConversationSettings = Field(default_factory=ConversationSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    ui: UiSettings = Field(default_factory=UiSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute_folder(cls, value: Path) -> Path:
        """Absolute from the start, so every path derived from it (``--json`` included) is."""
        return value.expanduser().absolute()

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        """Reject a device name torch would not know (``gpu``) before anything loads."""
        return check_device_name(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments win over the environment (new names, then old), then the file."""
        check_environment(os.environ)
        path = config_file()
        values = read_config_file(path) if path else {}
        legacy = legacy_environment(os.environ)
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, legacy),
            InitSettingsSource(settings_cls, values),
        )


# --- what exists ---------------------------------------------------------------------------


def setting_paths(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[str]:
    """Every setting's dotted path, sections included (``retrieval``, ``retrieval.top_k``)."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        section = _section_type(field.annotation)
        if section is not None:
            yield from setting_paths(section, f"{path}.")


def field_at(path: str) -> Any:
    """The pydantic field info of a dotted path (None when the path names nothing)."""
    model: type[BaseModel] | None = Settings
    field = None
    for part in path.split("."):
        if model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        model = _section_type(field.annotation)
    return field


def variable_of(path: str) -> str:
    """The variable of a dotted path: ``retrieval.top_k`` -> ``BLLOSSOM_RAG_RETRIEVAL__TOP_K``."""
    return ENV_PREFIX + path.upper().replace(".", NESTED)


def _section_type(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _is_complex(path: str) -> bool:
    """Whether a setting holds a list or a mapping (its variable's value is JSON)."""
    field = field_at(path)
    return field is not None and get_origin(field.annotation) in (dict, list)


def _is_secret(path: str) -> bool:
    field = field_at(path)
    return path in _SECRET_MAPPINGS or (
        field is not None and SecretStr in (field.annotation, *get_args(field.annotation))
    )


# --- sources -------------------------------------------------------------------------------


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


def read_config_file(path: Path) -> dict[str, Any]:
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
        logger.warning("%s: %s is an old name; write %s", path, old, _table_form(RENAMED[old]))
    _check_keys(data, Settings, "", path)
    folder = path.resolve().parent
    for key in _FOLDER_SETTINGS:
        value = _get(data, key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            _set(data, key, str(folder / value))
    for key in _MODEL_SETTINGS:
        value = _get(data, key)
        if isinstance(value, str) and (value.startswith(".") or (folder / value).is_dir()):
            _set(data, key, str(folder / value))
    return data


def legacy_environment(environ: Mapping[str, str]) -> dict[str, Any]:
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
        if _is_complex(path):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                msg = f"invalid setting {path} ({_shown_variable(variable, path)}): not valid JSON"
                raise ConfigError(msg) from None
        _place(values, path, value, variable)
        logger.warning("%s is an old name; use %s", variable, variable_of(path))
    return values


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a ``BLLOSSOM_RAG_*`` variable that names no setting (``..._TOPK``).

    Raises:
        ConfigError: The variable and its close match.

    """
    known = {variable_of(path) for path in setting_paths()}
    old = {f"{ENV_PREFIX}{name.upper()}": variable_of(path) for name, path in RENAMED.items()}
    for variable in environ:
        name = variable.upper()
        if name.startswith(ENV_PREFIX) and name not in known | old.keys() | NOT_SETTINGS:
            close = _close_match(name, known | old.keys() | NOT_SETTINGS)
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
            close = _close_match(f"{prefix}{key}", candidates)
            close = RENAMED.get(close, close) if close else None
            also = f" (did you mean {close}?)" if close else ""
            msg = f"{path}: unknown setting {prefix + key!r}{also}"
            raise ConfigError(msg)
        section = _section_type(known[key].annotation)
        if section is not None and isinstance(value, Mapping):
            _check_keys(value, section, f"{prefix}{key}.", path)


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


def _table_form(path: str) -> str:
    """How a setting is written in the file: ``[retrieval] top_k``, or ``data_dir``."""
    section, _, key = path.rpartition(".")
    return f"[{section}] {key}" if section else key


# --- one line per mistake ------------------------------------------------------------------


def load_settings() -> Settings:
    """Settings from the environment and TOML; a validation failure becomes one line.

    Raises:
        ConfigError: A setting is invalid (the message names it and where its value came from).

    """
    try:
        return Settings()
    except ValidationError as error:
        raise _one_line(error) from None
    except SettingsError:  # a variable holding a list or mapping that is not JSON
        raise _not_json() from None


def _one_line(error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    more = len(error.errors()) - 1
    also = f" (and {more} more)" if more else ""
    reason = first["msg"].removeprefix("Value error, ")
    path = _setting_path(first["loc"])
    field = field_at(path) if path else None
    names_a_section = field is not None and _section_type(field.annotation) is not None
    if not path or (first["type"] == "value_error" and names_a_section):
        return ConfigError(f"invalid settings: {reason}{also}")  # a rule: its message names both
    return ConfigError(
        f"invalid setting {path} ({_source_of(path, first.get('input'))}): {reason}{also}"
    )


def _setting_path(loc: tuple[int | str, ...]) -> str:
    """The setting an error is about: its location cut where it leaves the settings.

    Below a mapping's setting the location goes on with the mapping's own keys (an API key of
    ``api.keys``), which name no setting and may be secrets.
    """
    path = ""
    for part in loc:
        candidate = f"{path}.{part}" if path else str(part)
        if not isinstance(part, str) or field_at(candidate) is None:
            break
        path = candidate
    return path


def _not_json() -> ConfigError:
    """The first variable whose setting holds a list or mapping and whose value is not JSON."""
    for variable, text in os.environ.items():
        path = _path_of(variable.upper())
        if path is not None and _is_complex(path):
            try:
                json.loads(text)
            except json.JSONDecodeError:
                shown = _shown_variable(variable, path)
                return ConfigError(f"invalid setting {path} ({shown}): not valid JSON")
    return ConfigError("invalid settings: a variable's value is not valid JSON")


def _path_of(variable: str) -> str | None:
    """The setting a variable (new or old name) sets, if any."""
    for path in setting_paths():
        if variable == variable_of(path):
            return path
    for old, path in RENAMED.items():
        if variable == f"{ENV_PREFIX}{old.upper()}":
            return path
    return None


def _source_of(path: str, value: Any) -> str:
    """Where a setting's value came from: a variable, the file, or a call.

    A secret's value (a key, a URL with a password) is never repeated.
    """
    for name in os.environ:
        if _path_of(name.upper()) == path:
            return _shown_variable(name, path)
    file = config_file()
    shown = "<hidden>" if _is_secret(path) else repr(value)
    if file is not None:
        return f"{_table_form(path)} = {shown} in {file}"
    return f"{path}={shown}"


def _shown_variable(variable: str, path: str) -> str:
    return f"{variable}=<hidden>" if _is_secret(path) else f"{variable}={os.environ[variable]!r}"


def _close_match(name: str, known: set[str] | frozenset[str]) -> str | None:
    normalized = {candidate.lower().replace("-", "_"): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower().replace("-", "_"), normalized, n=1)
    return normalized[close[0]] if close else None
