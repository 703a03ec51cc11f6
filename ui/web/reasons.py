"""Why a file was not ingested, and what was left out of one, in the interface's language.

The loaders word their refusals (:meth:`rag.errors.IngestError.because`) and their notes on
what they skipped in English, for the command line and the logs, as :class:`rag.errors.Message`:
a ``str.format`` template and its values. The template is the message's id, as in gettext,
so this table maps each English template to its Korean one and the same values fill it; the
words the loaders fill in (``a PDF document``, ``PDF parser``) have their own small table.
Keeping the English inline where the message is made (rather than in a catalog of codes) keeps
each one readable in its code; the price, a translation that no longer matches a reworded
template, is paid by a test that finds every template in ``ingest/`` and checks it has a Korean
line here. A message without a template (an operating-system error, or an English-only sentence
from elsewhere) is shown as it is.
"""

from __future__ import annotations

import streamlit as st

from rag.errors import Message
from ui.web.i18n import LANGUAGE_KEY
from ui.web.korean import attach_particles

# English template -> Korean template: the same fields, in Korean word order.
KOREAN: dict[str, str] = {
    # the file itself
    "file is {size:,} bytes, over the {limit:,}-byte limit (ingest.max_file_bytes)": (
        "파일 크기가 {size:,}바이트로 한도 {limit:,}바이트(ingest.max_file_bytes)를 넘습니다"
    ),
    "file grew past the {limit:,}-byte limit while being read": (
        "읽는 동안 파일이 한도 {limit:,}바이트를 넘게 커졌습니다"
    ),
    "file is empty": "빈 파일입니다",
    "not a regular file": "일반 파일이 아닙니다",
    "symlink leaves the ingested folder (points to {target})": (
        "심볼릭 링크가 가져오는 폴더 밖을 가리킵니다 ({target})"
    ),
    "caption file of {image}: ingest the image to use it": (
        "{image}의 캡션 파일입니다: 이미지와 함께 올리면 캡션으로 쓰입니다"
    ),
    "caption file {name}: {error}": "캡션 파일 {name}: {error}",
    # its type
    "unsupported file type {suffix}": "지원하지 않는 파일 형식입니다 ({suffix})",
    "legacy Office file {suffix}: save it as {modern} "
    "(File > Save As in Office or LibreOffice) and ingest that": (
        "구형 Office 파일({suffix})입니다: Office나 LibreOffice의 '다른 이름으로 저장'으로 "
        "{modern} 형식으로 저장한 뒤 올려 주세요"
    ),
    "content is {found}, not text (named {suffix})": (
        "파일 내용이 텍스트가 아니라 {found}입니다 (확장자 {suffix})"
    ),
    "content is {found}, not {expected} (named {suffix})": (
        "파일 내용이 {expected}이(가) 아니라 {found}입니다 (확장자 {suffix})"
    ),
    "not a PDF: no %PDF- header at the start of the file": (
        "PDF가 아닙니다: 파일 앞부분에 %PDF- 머리글이 없습니다"
    ),
    "not a DOCX: not a ZIP package with word/document.xml": (
        "DOCX가 아닙니다: word/document.xml이 든 ZIP 패키지가 아닙니다"
    ),
    "not an XLSX: not a ZIP package with xl/workbook.xml": (
        "XLSX가 아닙니다: xl/workbook.xml이 든 ZIP 패키지가 아닙니다"
    ),
    "not a PPTX: not a ZIP package with ppt/presentation.xml": (
        "PPTX가 아닙니다: ppt/presentation.xml이 든 ZIP 패키지가 아닙니다"
    ),
    "not an HWP 5 document: no OLE compound-file signature": (
        "HWP 5 문서가 아닙니다: OLE 복합 파일 서명이 없습니다"
    ),
    "not an HWPX: not a ZIP package with mimetype application/hwp+zip": (
        "HWPX가 아닙니다: mimetype이 application/hwp+zip인 ZIP 패키지가 아닙니다"
    ),
    "not a supported image (PNG, JPEG, WebP, GIF, BMP, TIFF): unknown signature": (
        "지원하는 이미지(PNG, JPEG, WebP, GIF, BMP, TIFF)가 아닙니다: 알 수 없는 서명"
    ),
    # text
    "contains NUL bytes: binary data, not text": (
        "NUL 바이트가 있습니다: 텍스트가 아닌 바이너리입니다"
    ),
    "no text in file": "파일에 텍스트가 없습니다",
    "unknown text encoding (not UTF-8, UTF-16, CP949 or EUC-KR)": (
        "알 수 없는 문자 인코딩입니다 (UTF-8, UTF-16, CP949, EUC-KR이 아님)"
    ),
    "broken {encoding} text (invalid bytes at offset {offset})": (
        "깨진 {encoding} 텍스트입니다 ({offset}번째 바이트가 잘못됨)"
    ),
    "no text in the page": "페이지에 텍스트가 없습니다",
    "not readable HTML ({error})": "읽을 수 없는 HTML입니다 ({error})",
    # documents
    "no text or pictures in the document": "문서에 텍스트나 그림이 없습니다",
    "no text or pictures in the presentation": "프레젠테이션에 텍스트나 그림이 없습니다",
    "no cells with values in the workbook (every sheet is empty or hidden)": (
        "통합 문서에 값이 있는 셀이 없습니다 (모든 시트가 비었거나 숨겨져 있음)"
    ),
    "not a readable {label} ({error})": "읽을 수 없는 {label} 파일입니다 ({error})",
    "not a readable {label} (broken ZIP: {error})": (
        "읽을 수 없는 {label} 파일입니다 (손상된 ZIP: {error})"
    ),
    "{label} unpacks to {size:,} bytes, over the {limit:,}-byte limit": (
        "{label} 파일의 압축을 풀면 {size:,}바이트로 한도 {limit:,}바이트를 넘습니다"
    ),
    "no text or images in the PDF (its pages have no text layer; OCR is off)": (
        "PDF에 텍스트나 이미지가 없습니다 (페이지에 텍스트 층이 없고 OCR이 꺼져 있음)"
    ),
    "no text or images in the PDF (its pages have no text layer; OCR found no text)": (
        "PDF에 텍스트나 이미지가 없습니다 (페이지에 텍스트 층이 없고 OCR로도 글자를 찾지 못함)"
    ),
    "PDF is encrypted (a password is required)": "암호가 걸린 PDF입니다 (비밀번호가 필요함)",
    "broken or truncated PDF ({error})": "손상되었거나 잘린 PDF입니다 ({error})",
    # HWP and HWPX
    "not a readable HWP 5 document (broken compound file: {error})": (
        "읽을 수 없는 HWP 5 문서입니다 (손상된 복합 파일: {error})"
    ),
    "not a readable HWP 5 document ({error})": "읽을 수 없는 HWP 5 문서입니다 ({error})",
    "a legacy Office file (.doc/.xls/.ppt), not HWP: save it as .docx/.xlsx/.pptx": (
        "HWP가 아니라 구형 Office 파일(.doc/.xls/.ppt)입니다: .docx/.xlsx/.pptx로 저장해 주세요"
    ),
    "not an HWP 5 document (no FileHeader stream)": (
        "HWP 5 문서가 아닙니다 (FileHeader 스트림 없음)"
    ),
    "not an HWP 5 document (bad FileHeader signature)": (
        "HWP 5 문서가 아닙니다 (FileHeader 서명이 잘못됨)"
    ),
    "not an HWP 5 document (no BodyText sections)": "HWP 5 문서가 아닙니다 (BodyText 구역 없음)",
    "HWP document is password-protected: save an unprotected copy in Hancom Office": (
        "암호가 걸린 HWP 문서입니다: 한컴오피스에서 암호를 푼 사본을 저장해 주세요"
    ),
    "HWP document is DRM-protected: its text is encrypted and cannot be read": (
        "DRM으로 보호된 HWP 문서입니다: 본문이 암호화되어 읽을 수 없습니다"
    ),
    "HWP distribution document (배포용 문서): its text is encrypted; "
    "save a normal copy in Hancom Office": (
        "배포용 HWP 문서입니다: 본문이 암호화되어 있으니 한컴오피스에서 일반 문서로 저장해 주세요"
    ),
    "broken HWP stream {name} ({error})": "손상된 HWP 스트림 {name}입니다 ({error})",
    "HWP stream {name} unpacks past {limit:,} bytes": (
        "HWP 스트림 {name}의 압축을 풀면 {limit:,}바이트를 넘습니다"
    ),
    "broken {label} part {name} ({error})": "손상된 {label} 부분 {name}입니다 ({error})",
    "not an HWPX document (no Contents/sectionN.xml)": (
        "HWPX 문서가 아닙니다 (Contents/sectionN.xml 없음)"
    ),
    # images
    "image is too large to decode safely ({error})": (
        "이미지가 너무 커서 안전하게 풀 수 없습니다 ({error})"
    ),
    "not a readable image in {formats} ({error})": (
        "{formats} 중 어느 형식으로도 읽을 수 없는 이미지입니다 ({error})"
    ),
    "the generator could not caption an image ({error})": (
        "생성 모델이 이미지 캡션을 만들지 못했습니다 ({error})"
    ),
    # the isolated parser process
    "{label} ran past the {limit:g}-second limit and was stopped": (
        "{label}이(가) 제한 시간 {limit:g}초를 넘겨 중단되었습니다"
    ),
    "{label} produced more than {limit:,} bytes of output": (
        "{label}의 출력이 {limit:,}바이트를 넘었습니다"
    ),
    "{label} ran out of its {limit:,} MB memory limit ({setting})": (
        "{label}이(가) 메모리 한도 {limit:,}MB({setting})를 다 썼습니다"
    ),
    "{label} crashed ({signal}): the file is malformed or needs more than "
    "the {limit:,} MB memory limit ({setting})": (
        "{label}이(가) 비정상 종료했습니다({signal}): 파일이 잘못되었거나 "
        "메모리 한도 {limit:,}MB({setting})보다 많이 필요합니다"
    ),
    "{label} stopped: the parser server ended unexpectedly": (
        "{label}이(가) 중단되었습니다: 파서 서버가 예기치 않게 끝났습니다"
    ),
    "{label} holds more than {limit:,} {units} (ingest.max_units_per_file): "
    "split the file or raise the limit": (
        "{label} 파일의 {units}이(가) {limit:,}개를 넘습니다 (ingest.max_units_per_file): "
        "파일을 나누거나 한도를 높여 주세요"
    ),
    "{label} failed (exit status {status}): {error}": (
        "{label}이(가) 실패했습니다 (종료 코드 {status}): {error}"
    ),
    # chunking
    "makes more than {limit:,} chunks (ingest.max_chunks_per_file): split the file or raise "
    "the limit": (
        "청크가 {limit:,}개를 넘습니다 (ingest.max_chunks_per_file): "
        "파일을 나누거나 한도를 높여 주세요"
    ),
    "sheet {sheet!r} makes more than {limit:,} chunks (ingest.max_chunks_per_file): "
    "split the workbook or raise the limit": (
        "시트 {sheet!r}의 청크가 {limit:,}개를 넘습니다 (ingest.max_chunks_per_file): "
        "통합 문서를 나누거나 한도를 높여 주세요"
    ),
    "no text to index after chunking": "청크로 나눈 뒤 색인할 텍스트가 없습니다",
    # uploads (ingest.uploads)
    "you can only choose groups you belong to, not: {groups}": (
        "내가 속하지 않은 그룹은 고를 수 없습니다: {groups}"
    ),
    "replaced by {name} (same name)": "같은 이름의 {name}(으)로 대체됨",
    "a document named {name} exists that you cannot read: upload it under another name": (
        "{name} 이름의 문서가 이미 있고 나는 읽을 수 없습니다. 다른 이름으로 올려 주세요."
    ),
    "{name} exists for other groups ({groups}): upload it for the same groups, "
    "or delete it first": (
        "{name} 문서가 이미 있고 읽을 수 있는 그룹이 다릅니다({groups}). "
        "같은 그룹으로 올리거나 먼저 삭제하세요."
    ),
    # notes: what an ingested file was indexed without
    "skipped images after the first {count} (ingest.max_images_per_file)": (
        "처음 {count}개 이후의 이미지는 건너뜀 (ingest.max_images_per_file)"
    ),
    "skipped images past {limit:,} decoded pixels in this file "
    "(ingest.max_image_pixels_per_file)": (
        "이 파일에서 디코딩한 픽셀이 {limit:,}개를 넘은 뒤의 이미지는 건너뜀 "
        "(ingest.max_image_pixels_per_file)"
    ),
    "skipped images past the file's decoded-pixel budget (ingest.max_image_pixels_per_file)": (
        "파일의 디코딩 픽셀 한도를 넘은 뒤의 이미지는 건너뜀 (ingest.max_image_pixels_per_file)"
    ),
    "skipped an embedded image: {error}": "삽입된 이미지 하나를 건너뜀: {error}",
    "skipped an embedded image on page {page}: {width}x{height} pixels, "
    "over the {limit:,}-pixel limit": (
        "{page}쪽의 삽입 이미지를 건너뜀: {width}x{height} 픽셀로 한도 {limit:,}픽셀을 넘음"
    ),
    "skipped an undecodable embedded image on page {page}": (
        "{page}쪽의 디코딩할 수 없는 삽입 이미지를 건너뜀"
    ),
    "skipped a picture in a format that is not read ({name})": (
        "읽지 않는 형식의 그림을 건너뜀 ({name})"
    ),
    "skipped OCR after {count} pages (ingest.ocr.max_pages)": (
        "{count}쪽 이후에는 OCR을 하지 않음 (ingest.ocr.max_pages)"
    ),
    "skipped unreadable page {page} ({error})": "읽을 수 없는 {page}쪽을 건너뜀 ({error})",
    "skipped OCR of the image: {error}": "이미지의 OCR을 건너뜀: {error}",
    "the PDF has no page {page}": "PDF에 {page}쪽이 없습니다",
    "skipped OCR of the image: the OCR budget of {limit:g} s ({setting}) is spent": (
        "이미지의 OCR을 건너뜀: OCR 예산 {limit:g}초({setting})를 다 썼습니다"
    ),
    "skipped OCR of {count} of {total} pages: the OCR budget of {limit:g} s ({setting}) is spent": (
        "전체 {total}쪽 중 {count}쪽의 OCR을 건너뜀: OCR 예산 {limit:g}초({setting})를 다 썼습니다"
    ),
    "skipped OCR of page {page}: {error}": "{page}쪽의 OCR을 건너뜀: {error}",
    "skipped hidden sheet {sheet!r}": "숨겨진 시트 {sheet!r}은(는) 건너뜀",
    "skipped empty sheet {sheet!r}": "빈 시트 {sheet!r}은(는) 건너뜀",
    "nested deeper than the HTML parser's limit: read as flat text": (
        "HTML 중첩이 파서 한도보다 깊어 평문으로 읽음"
    ),
}

# The words the loaders fill templates with (``{found}``, ``{expected}``, ``{label}``).
KOREAN_VALUES: dict[str, str] = {
    "everyone": "모두",
    "a PDF document": "PDF 문서",
    "a Word (DOCX) document": "Word(DOCX) 문서",
    "an Excel (XLSX) workbook": "Excel(XLSX) 통합 문서",
    "a PowerPoint (PPTX) presentation": "PowerPoint(PPTX) 프레젠테이션",
    "an HWP 5 document": "HWP 5 문서",
    "an HWPX document": "HWPX 문서",
    "an image": "이미지",
    "text": "텍스트",
    "a PNG image": "PNG 이미지",
    "a JPEG image": "JPEG 이미지",
    "a GIF image": "GIF 이미지",
    "a WebP image": "WebP 이미지",
    "a TIFF image": "TIFF 이미지",
    "a BMP image": "BMP 이미지",
    "an HWP 5 or legacy Office file (.hwp, .doc, .xls, .ppt)": (
        "HWP 5 또는 구형 Office 파일(.hwp, .doc, .xls, .ppt)"
    ),
    "an HWP 3 (Hangul 97) document: save it as .hwpx in Hancom Office": (
        "HWP 3(한글 97) 문서(한컴오피스에서 .hwpx로 저장해 주세요)"
    ),
    "an archive or program": "압축 파일이나 프로그램",
    "a broken ZIP archive": "손상된 ZIP 압축 파일",
    "a ZIP archive": "ZIP 압축 파일",
    "PDF parser": "PDF 파서",
    "HWP parser": "HWP 파서",
    "HWPX parser": "HWPX 파서",
    "DOCX parser": "DOCX 파서",
    "XLSX parser": "XLSX 파서",
    "PPTX parser": "PPTX 파서",
    "HTML parser": "HTML 파서",
    "Markdown parser": "Markdown 파서",
    "text parser": "텍스트 파서",
    "OCR": "OCR",
    # what a reader counts (ingest.max_units_per_file)
    "XML elements": "XML 요소",
    "rows and cells": "행과 셀",
    "HTML elements": "HTML 요소",
    "lines": "줄",
    "records": "레코드",
    "pages": "쪽",
}


def localized_error(error: Exception) -> str:
    """An error's message in the interface's language (see :func:`localized`)."""
    message = error.args[0] if error.args else None
    return localized(message) if isinstance(message, Message) else str(error)


def localized(message: Message) -> str:
    """A failure's reason or a note, in Korean where the session is Korean and a line exists."""
    korean = KOREAN.get(message.template or "")
    if korean is None or st.session_state.get(LANGUAGE_KEY) != "ko":
        return message
    values = message.values.items()
    return attach_particles(
        korean.format(
            **{k: KOREAN_VALUES.get(v, v) if isinstance(v, str) else v for k, v in values}
        )
    )
