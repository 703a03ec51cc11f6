"""ZIP packages (DOCX, XLSX, PPTX) are checked and counted before a library unpacks them.

python-docx, openpyxl and python-pptx run in the isolated worker, over lxml with entity
resolution off. Before any of them sees the package:

- the uncompressed sizes its ZIP directory declares must fit under :data:`MAX_UNPACKED_BYTES`
  (Python's ``zipfile`` never inflates an entry past its declared size, so that sum bounds what
  a crafted "zip bomb" can claim);
- every XML part is streamed once and its elements counted (:func:`count_parts`): a part of
  millions of empty paragraphs or shared strings stops at ``ingest.max_units_per_file`` after
  a second or two, instead of a library building a tree of gigabytes first.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from ingest.extractors.units import Units
from ingest.extractors.xml import count_elements, out_of_memory
from rag.errors import IngestError

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# What a broken ZIP raises while its entries are read.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def unreadable(label: str, error: Exception) -> IngestError:
    """A package its library could not read: ``not a readable DOCX (KeyError: ...)``.

    The libraries raise whatever their XML or ZIP layer raised on junk, so the error's type is
    part of what a user can report.

    Raises:
        MemoryError: The library ran out of memory (the worker says so, not "unreadable").

    """
    if out_of_memory(error):
        raise MemoryError from None
    detail = f"{type(error).__name__}: {error}"
    return IngestError.because("not a readable {label} ({error})", label=label, error=detail)


def open_package(data: bytes, label: str) -> zipfile.ZipFile:
    """The package, once its declared unpacked size is under :data:`MAX_UNPACKED_BYTES`.

    Raises:
        IngestError: A broken ZIP, or one that unpacks past the limit.

    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        template = "not a readable {label} (broken ZIP: {error})"
        raise IngestError.because(template, label=label, error=str(error)) from None
    if declared > MAX_UNPACKED_BYTES:
        archive.close()
        template = "{label} unpacks to {size:,} bytes, over the {limit:,}-byte limit"
        raise IngestError.because(template, label=label, size=declared, limit=MAX_UNPACKED_BYTES)
    return archive


def count_parts(archive: zipfile.ZipFile, label: str, units: Units) -> None:
    """Count the elements of every XML part of the package.

    Raises:
        IngestError: The file passed its units limit, or a part is broken.
        MemoryError: Counting ran out of memory.

    """
    for info in archive.infolist():
        name = info.filename
        if not name.endswith((".xml", ".rels")):
            continue
        try:
            with archive.open(info) as stream:
                count_elements(stream, name, label, units)
        except ZIP_ERRORS as error:
            template = "not a readable {label} (broken ZIP: {error})"
            raise IngestError.because(template, label=label, error=str(error)) from None
