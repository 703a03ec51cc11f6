"""All configuration in one place: :class:`Settings`, and one line for every mistake.

Every command, server and the web app read one :class:`Settings` object. Values come, highest
priority first, from explicit arguments, environment variables, and a TOML file
(``bllossom-rag.toml`` in the working directory, or the file named by ``BLLOSSOM_RAG_CONFIG``):
see :mod:`rag.config.sources`. Settings are grouped into sections (:mod:`rag.config.sections`):
a TOML table each (``[retrieval]``, ``[retrieval.fusion]``), and variables
``BLLOSSOM_RAG_<SECTION>__<KEY>`` (``BLLOSSOM_RAG_RETRIEVAL__TOP_K``). The flat names of
earlier releases still work, with a note (:mod:`rag.config.legacy`). Model settings take a hub
name or a local folder; nothing is loaded or downloaded here, so importing this module stays
cheap. Every failure is one :class:`ConfigError` line naming the setting and where its value
came from, never repeating a secret.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from rag.config.sections import (
    AccessSettings,
    ApiSettings,
    AuditSettings,
    CliSettings,
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
from rag.config.sources import (
    DEFAULT_COLLECTION,
    ENV_PREFIX,
    NESTED,
    Schema,
    check_environment,
    config_file,
    item_section,
    legacy_environment,
    read_config_file,
    section_type,
    shown_variable,
    table_form,
)
from rag.config.sync_sections import SourceSettings, SyncSettings
from rag.errors import ConfigError
from rag.images import DEFAULT_MAX_IMAGE_PIXELS
from rag.runtime.models import check_device_name


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
    cli: CliSettings = Field(default_factory=CliSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    sources: list[SourceSettings] = Field(
        default_factory=list,
        description="[[sources]] tables: folders, sites and repositories that bllossom-rag sync "
        "keeps in step with their collections (see [[sources]] below).",
    )
    sync: SyncSettings = Field(default_factory=SyncSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute_folder(cls, value: Path) -> Path:
        """Absolute from the start, so every path derived from it (``--json`` included) is."""
        return value.expanduser().absolute()

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, value: list[SourceSettings]) -> list[SourceSettings]:
        names = [source.name for source in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            msg = f"two sources are named {', '.join(map(repr, twice))}: give each its own name"
            raise ValueError(msg)
        return value

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
        schema = Schema(settings_cls)
        check_environment(os.environ, schema)
        path = config_file()
        values = read_config_file(path, schema) if path else {}
        legacy = legacy_environment(os.environ, schema)
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, legacy),
            InitSettingsSource(settings_cls, values),
        )


SCHEMA = Schema(Settings)


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
    field = SCHEMA.field(path) if path else None
    names_a_section = field is not None and (
        path.endswith("]")
        or item_section(field.annotation) is not None
        or section_type(field.annotation) is not None
    )
    if not path or (first["type"] == "value_error" and names_a_section):
        return ConfigError(f"invalid settings: {reason}{also}")  # a rule: its message names both
    return ConfigError(
        f"invalid setting {path} ({_source_of(path, first.get('input'))}): {reason}{also}"
    )


def _setting_path(loc: tuple[int | str, ...]) -> str:
    """The setting an error is about: its location cut where it leaves the settings.

    Below a mapping's setting the location goes on with the mapping's own keys (an API key of
    ``api.keys``), which name no setting and may be secrets. An item of a list of tables is
    named by its index (``sources[0].url``).
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            field = SCHEMA.field(path) if path else None
            if field is None or item_section(field.annotation) is None or path.endswith("]"):
                break
            path = f"{path}[{part}]"
            continue
        candidate = f"{path}.{part}" if path else str(part)
        if SCHEMA.field(candidate) is None:
            break
        path = candidate
    return path


def _not_json() -> ConfigError:
    """The first variable whose setting holds a list or mapping and whose value is not JSON."""
    for variable, text in os.environ.items():
        path = SCHEMA.path_of(variable.upper())
        if path is not None and SCHEMA.is_complex(path):
            try:
                json.loads(text)
            except json.JSONDecodeError:
                shown = shown_variable(variable, path, SCHEMA)
                return ConfigError(f"invalid setting {path} ({shown}): not valid JSON")
    return ConfigError("invalid settings: a variable's value is not valid JSON")


def _source_of(path: str, value: Any) -> str:
    """Where a setting's value came from: a variable, the file, or a call.

    A secret's value (a key, a URL with a password) is never repeated.
    """
    whole = path.split("[")[0]  # an item of a list of tables is set by the list's variable
    for name in os.environ:
        if SCHEMA.path_of(name.upper()) == whole:
            return shown_variable(name, whole, SCHEMA)
    file = config_file()
    shown = "<hidden>" if SCHEMA.is_secret(path) else repr(value)
    if file is not None:
        return f"{table_form(path)} = {shown} in {file}"
    return f"{path}={shown}"
