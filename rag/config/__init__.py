"""All configuration in one place: :class:`Settings` (see :mod:`rag.config.settings`)."""

from rag.config.settings import SCHEMA, Settings, load_settings
from rag.config.sources import (
    CONFIG_FILE_ENV,
    DEFAULT_COLLECTION,
    ENV_PREFIX,
    NOT_SETTINGS,
    config_file,
    variable_of,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_COLLECTION",
    "ENV_PREFIX",
    "NOT_SETTINGS",
    "SCHEMA",
    "Settings",
    "config_file",
    "load_settings",
    "variable_of",
]
