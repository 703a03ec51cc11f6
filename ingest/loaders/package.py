"""ZIP packages (DOCX, XLSX, PPTX) are checked before a parser unpacks them.

python-docx, openpyxl and python-pptx parse in this process (pure Python over lxml or the
standard library's XML, entity resolution off), so the package is checked first: the
uncompressed sizes its ZIP directory declares must fit under :data:`MAX_UNPACKED_BYTES`. Python's
``zipfile`` never inflates an entry past its declared size, so that sum bounds the memory a
crafted "zip bomb" can claim.
"""

from __future__ import annotations

import io
import zipfile

from rag.errors import IngestError

MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def check_unpacked_size(data: bytes, label: str) -> None:
    """Refuse a package that declares more than :data:`MAX_UNPACKED_BYTES` uncompressed.

    Raises:
        IngestError: A broken ZIP, or one that unpacks past the limit.

    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        msg = f"not a readable {label} (broken ZIP: {error})"
        raise IngestError(msg) from None
    if declared > MAX_UNPACKED_BYTES:
        msg = f"{label} unpacks to {declared:,} bytes, over the {MAX_UNPACKED_BYTES:,}-byte limit"
        raise IngestError(msg)
