"""The shared evaluation datasets (KorQuAD, XQuAD, the Korean-English news pairs), in place.

They live outside the checkout, in ``../shared/datasets`` (or ``$BLLOSSOM_RAG_SHARED/datasets``);
a run that needs one and cannot find it stops with one line saying where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

from devkit.models import REPO

SHARED = Path(os.environ.get("BLLOSSOM_RAG_SHARED", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"


class DatasetMissingError(FileNotFoundError):
    """A shared dataset is not where it should be."""


def dataset(name: str) -> Path:
    """The path of a shared dataset file.

    Raises:
        DatasetMissingError: One line: the file, where it was looked for, what to set.

    """
    path = DATASETS / name
    if not path.is_file():
        msg = (
            f"needs the shared dataset {name} in {DATASETS}, which is not there; "
            "set BLLOSSOM_RAG_SHARED to the folder that holds datasets/"
        )
        raise DatasetMissingError(msg)
    return path
