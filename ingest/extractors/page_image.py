"""Child task ``page``: one page of a PDF rendered as a PNG, for showing a passage on its page.

Runs in :mod:`ingest.isolation.child` under the parser's time and memory limits, like every
other parse of a file's bytes. The page is rendered as it is displayed (its rotation applied)
at a scale that makes its longer side ``size`` pixels, at most :data:`MAX_SCALE` times its size
in points. It answers in the child's one shape: a ``scan`` block holding the image.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from rag.errors import IngestError

MAX_SCALE = 3.0


def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """``{"page": n, "size": pixels}`` -> the page's rendering."""
    import pypdfium2 as pdfium

    number, size = int(options["page"]), int(options["size"])
    try:
        document = pdfium.PdfDocument(data)
        if not 1 <= number <= len(document):
            template = "the PDF has no page {page}"
            return IngestError.because(template, page=number).to_json()
        page = document[number - 1]
        scale = min(MAX_SCALE, size / max(page.get_size()))
        picture = page.render(scale=scale).to_pil().convert("RGB")
    except pdfium.PdfiumError as error:
        return IngestError.because("broken or truncated PDF ({error})", error=str(error)).to_json()
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    image = base64.b64encode(buffer.getvalue()).decode()
    return {"blocks": [{"type": "scan", "image": image, "text": "", "page": number}], "notes": []}
