"""All configuration in one place: :class:`Settings` (see :mod:`rag.config.settings`)."""

from rag.config.settings import (
    CONFIG_FILE_ENV,
    DEFAULT_COLLECTION,
    ENV_PREFIX,
    NOT_SETTINGS,
    Settings,
    config_file,
    load_settings,
    setting_paths,
    variable_of,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_COLLECTION",
    "ENV_PREFIX",
    "NOT_SETTINGS",
    "Settings",
    "config_file",
    "load_settings",
    "setting_paths",
    "variable_of",
]
