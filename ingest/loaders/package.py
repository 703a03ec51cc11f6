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


def unreadable(label: str, error: Exception) -> IngestError:
    """A package its parser could not read: ``not a readable DOCX (KeyError: ...)``.

    The parsers raise whatever their XML or ZIP layer raised on junk, so the error's type is
    part of what a user can report.
    """
    detail = f"{type(error).__name__}: {error}"
    return IngestError.because("not a readable {label} ({error})", label=label, error=detail)


def check_unpacked_size(data: bytes, label: str) -> None:
    """Refuse a package that declares more than :data:`MAX_UNPACKED_BYTES` uncompressed.

    Raises:
        IngestError: A broken ZIP, or one that unpacks past the limit.

    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        template = "not a readable {label} (broken ZIP: {error})"
        raise IngestError.because(template, label=label, error=str(error)) from None
    if declared > MAX_UNPACKED_BYTES:
        template = "{label} unpacks to {size:,} bytes, over the {limit:,}-byte limit"
        raise IngestError.because(template, label=label, size=declared, limit=MAX_UNPACKED_BYTES)
