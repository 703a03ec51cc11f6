"""Korean and English labels, chosen by a toggle, the ``ui.language`` setting or the browser.

Labels live in one table, Korean first, so a missing translation is a visible gap in one
place rather than an English string buried in a page. English plurals and Korean particles
after a value (``{name}(으)로``, :mod:`ui.web.korean`) are the grammar: see :func:`t`. Only
the app's own words are translated; documents, answers and file names are shown as they are.
"""

from __future__ import annotations

import streamlit as st

from rag.config import Settings
from ui.web.korean import attach_particles

LANGUAGES = {"ko": "한국어", "en": "English"}
LANGUAGE_KEY = "language"

# key -> (Korean, English); str.format fields in braces.
LABELS: dict[str, tuple[str, str]] = {
    "app_title": ("Bllossom RAG 어시스턴트", "Bllossom RAG assistant"),
    "language": ("언어", "Language"),
    "skip_to_content": ("본문으로 건너뛰기", "Skip to main content"),
    # navigation
    "page_chat": ("대화", "Chat"),
    "page_library": ("문서 보관함", "Library"),
    "page_dashboard": ("대시보드", "Dashboard"),
    "page_admin": ("관리", "Admin"),
    # identity
    "local_user": ("로컬 사용자", "local user"),
    "single_user_mode": (
        "단일 사용자 모드: 로그인이 설정되지 않았습니다.",
        "Single-user mode: no sign-in is configured.",
    ),
    "signed_in_as": ("{name}(으)로 로그인됨", "Signed in as {name}"),
    "your_groups": ("그룹: {groups}", "Groups: {groups}"),
    "no_groups": (
        "그룹 없음 (제한 없는 문서만 보입니다)",
        "No groups (unrestricted documents only)",
    ),
    "sign_in": ("로그인", "Sign in"),
    "sign_out": ("로그아웃", "Sign out"),
    "sign_in_needed": ("계속하려면 로그인하세요.", "Sign in to continue."),
    "auth_not_configured": (
        "ui.auth가 켜져 있지만 .streamlit/secrets.toml에 [auth] 설정이 없습니다.",
        "ui.auth is on but .streamlit/secrets.toml has no [auth] section.",
    ),
    "nobody_admitted": (
        "아직 아무도 들어올 수 없습니다: 관리자가 [ui] allowed_users, allowed_domains 또는 "
        "allow_anyone을 설정해야 합니다.",
        "Nobody is let in yet: the administrator sets [ui] allowed_users, allowed_domains or "
        "allow_anyone.",
    ),
    "not_admitted": (
        "{who} 계정은 이 앱을 쓸 수 없습니다. 관리자에게 요청하세요.",
        "{who} may not use this app; ask its administrator.",
    ),
    "email_not_verified": (
        "로그인 제공자가 이 이메일을 확인하지 않아 이메일로는 허용되지 않습니다.",
        "Your identity provider has not verified this email, so it does not count.",
    ),
    "loading_embedder": ("임베딩 모델을 불러오는 중…", "Loading the embedding model…"),
    # shared
    "collection": ("컬렉션", "Collection"),
    "new_collection": ("새 컬렉션…", "New collection…"),
    "new_collection_name": ("새 컬렉션 이름", "New collection name"),
    "no_collections": (
        "아직 문서가 없습니다. 문서 보관함에서 파일을 올려 주세요.",
        "No documents yet: add some in the Library.",
    ),
    "go_library": ("문서 보관함으로", "Open the Library"),
    # chat
    "chat_title": ("문서에게 물어보세요", "Ask your documents"),
    "chat_placeholder": (
        "질문을 입력하세요 (이미지 첨부 가능)",
        "Ask in Korean or English (you can attach an image)",
    ),
    "generation_settings": ("고급 설정", "Advanced settings"),
    "generation_settings_help": (
        "기본값은 관리자가 정합니다. 보통은 바꿀 필요가 없습니다.",
        "The administrator sets the defaults; there is usually no need to change them.",
    ),
    "collection_size": (
        "{name} 컬렉션에 문서 {count}개(청크 {chunks}개)가 있습니다. 무엇이든 물어보세요.",
        "{name} holds {count} documents ({chunks} passages). Ask anything about them.",
    ),
    "collection_size.one": (
        "{name} 컬렉션에 문서 {count}개(청크 {chunks}개)가 있습니다. 무엇이든 물어보세요.",
        "{name} holds {count} document ({chunks} passages). Ask anything about it.",
    ),
    "examples_intro": ("이런 질문을 해 보세요:", "For example:"),
    "example_heading": ("{topic}에 대해 알려 주세요", "What does it say about {topic}?"),
    "example_document": (
        "{topic}의 주요 내용은 무엇인가요?",
        "What are the main points of {topic}?",
    ),
    "top_k": ("참고 문단 수", "Passages"),
    "max_new_tokens": ("최대 답변 토큰", "Max answer tokens"),
    "temperature": ("온도 (0 = 결정적)", "Temperature (0 = greedy)"),
    "top_p": ("Top-p", "Top-p"),
    "new_conversation": ("새 대화", "New conversation"),
    "thinking": ("문서를 찾고 답을 쓰는 중…", "Searching and writing…"),
    "describe_image": ("이 이미지에 대해 설명해 주세요.", "Describe this image."),
    "sources": ("출처 {count}개", "{count} sources"),
    "sources.one": ("출처 {count}개", "{count} source"),
    "no_sources": ("찾은 문단이 없습니다.", "No passages were found."),
    "page_number": ("{page}쪽", "p. {page}"),
    # the source viewer and the support check (ui/web/source_viewer.py)
    "relevance_high": ("관련성 높음", "relevance high"),
    "relevance_medium": ("관련성 보통", "relevance medium"),
    "relevance_low": ("관련성 낮음", "relevance low"),
    "open_source": ("원문에서 보기", "Open in document"),
    "source_title": ("출처 [{number}]", "Source [{number}]"),
    "source_gone": (
        "이 출처를 더 이상 열 수 없습니다. 문서가 삭제되었거나 다시 수집되었습니다.",
        "This source can no longer be opened: its document was removed or ingested again.",
    ),
    "slide_number": ("{page}번 슬라이드", "slide {page}"),
    "page_highlighted": (
        "인용한 부분을 노란색으로 표시했습니다.",
        "The cited passage is highlighted.",
    ),
    "page_not_highlighted": (
        "이 쪽에서 인용한 부분의 위치를 찾지 못했습니다.",
        "Where the passage is on this page is not known.",
    ),
    "download_original": ("원본 파일 내려받기", "Download the original"),
    "original_unavailable": (
        "원본 파일이 수집한 뒤에 옮겨졌거나 바뀌어 보여 드릴 수 없습니다.",
        "The original file has moved or changed since it was ingested.",
    ),
    "also_in": ("같은 문단이 있는 문서: {names}", "The same passage is also in: {names}"),
    "unsupported_note": (
        "{mark} 표시한 문장 {count}개는 인용한 출처가 뒷받침하지 않는 것 같습니다. "
        "출처를 열어 확인하세요:",
        "{mark} {count} sentences do not seem to be supported by the sources they cite; "
        "open the sources to check:",
    ),
    "unsupported_note.one": (
        "{mark} 표시한 문장은 인용한 출처가 뒷받침하지 않는 것 같습니다. 출처를 열어 확인하세요:",
        "{mark} This sentence does not seem to be supported by the source it cites; "
        "open the source to check:",
    ),
    "images_in_prompt": ("프롬프트에 들어간 이미지", "Images in the prompt"),
    "your_image": ("첨부한 이미지", "Your image"),
    "image_unreadable": (
        "첨부 이미지를 읽을 수 없습니다: {error}",
        "Cannot read the image: {error}",
    ),
    "question_too_long": (
        "질문이 너무 깁니다: {limit:,}자까지 물을 수 있습니다(conversation.max_question_chars).",
        "The question is too long: at most {limit:,} characters (conversation.max_question_chars).",
    ),
    "generation_failed": (
        "답변을 생성하지 못했습니다: {error}. 문서 보관함과 대시보드는 계속 쓸 수 있습니다.",
        "Could not generate an answer: {error}. The Library and Dashboard still work.",
    ),
    "worker_unreachable": (
        "생성 워커({url})에 연결할 수 없습니다: {error}",
        "the generation worker at {url} is unreachable: {error}",
    ),
    "worker_status": (
        "생성 워커({url})가 {status}로 응답했습니다: {error}",
        "the generation worker at {url} answered {status}: {error}",
    ),
    # library
    "library_title": ("문서 보관함", "Document library"),
    "upload_files": ("파일 올리기", "Upload files"),
    "upload_help": (
        "파일당 최대 {mb} MB. 같은 이름으로 다시 올리면 그 문서가 갱신됩니다 "
        "(내가 읽을 수 있고 그룹이 같은 문서만).",
        "Up to {mb} MB per file. Uploading the same name again updates that document "
        "(only one you can read, with the same groups).",
    ),
    "uploader_button": ("파일 고르기", "Upload"),
    "uploader_limits": ("파일당 최대 {mb}MB • {types}", "{mb}MB per file • {types}"),
    "allowed_groups": ("읽을 수 있는 그룹", "Allowed groups"),
    "choose_groups": ("그룹을 고르세요", "Choose groups"),
    "upload_for_everyone": (
        "내가 속한 그룹이 없어 모두가 읽을 수 있는 문서로 올립니다.",
        "You belong to no group: uploads are readable by everyone.",
    ),
    "allowed_groups_help": (
        "비워 두면 모두가 읽을 수 있습니다. 내가 속한 그룹 중에서만 고를 수 있습니다.",
        "Empty means everyone. You can choose among your own groups only.",
    ),
    "ingest_button": ("올리고 색인하기", "Upload and index"),
    "ingest_starting": ("색인 준비 중…", "Preparing…"),
    "stage_saving": ("파일 {count}개를 저장하는 중…", "Saving {count} files…"),
    "stage_saving.one": ("파일 {count}개를 저장하는 중…", "Saving {count} file…"),
    "stage_reading": ("파일 읽는 중 {done}/{total}: {name}", "Reading file {done}/{total}: {name}"),
    "stage_embedding": (
        "임베딩하는 중 (지금까지 청크 {count}개)…",
        "Embedding (chunks so far: {count})…",
    ),
    "stage_committing": ("저장소에 기록하는 중…", "Writing to the store…"),
    "stage_indexing": ("검색 색인을 갱신하는 중…", "Updating the search index…"),
    "stage_done": ("완료", "Done"),
    "image_caption": ("이미지 캡션 (선택)", "Image caption (optional)"),
    "image_caption_help": (
        "올리는 이미지에 붙일 설명입니다. 이미지와 같은 이름의 .txt 캡션 파일이 함께 올라오면 "
        "그 파일이 우선합니다.",
        "A description for the images you upload. A caption file named after the image "
        "(photo.png.txt) uploaded with it comes first.",
    ),
    "caption_applied": ("{image}의 캡션으로 적용됨", "applied as the caption of {image}"),
    "ingest_summary": (
        "색인 {ingested}, 변경 없음 {unchanged}, 실패 {failed}",
        "{ingested} ingested, {unchanged} unchanged, {failed} failed",
    ),
    "file_chunks": ("청크 {count}개", "{count} chunks"),
    "file_chunks.one": ("청크 {count}개", "{count} chunk"),
    "file_images": ("이미지 {count}개", "{count} images"),
    "file_images.one": ("이미지 {count}개", "{count} image"),
    "status_ingested": ("색인됨", "ingested"),
    "status_unchanged": ("변경 없음", "unchanged"),
    "status_failed": ("실패", "failed"),
    "result": ("결과", "result"),
    "file": ("파일", "file"),
    "detail": ("사유", "detail"),
    "documents_in": ("{collection}의 문서", "Documents in {collection}"),
    "documents": ("문서", "Documents"),
    "chunks": ("청크", "Chunks"),
    "images": ("이미지", "Images"),
    "size": ("크기", "Size"),
    "groups": ("그룹", "Groups"),
    "everyone": ("모두", "everyone"),
    "ingested_at": ("색인 시각", "Ingested"),
    "path": ("경로", "Path"),
    "no_documents": ("이 컬렉션에 볼 수 있는 문서가 없습니다.", "No documents you can see here."),
    "delete_document": ("문서 삭제", "Delete a document"),
    "delete_button": ("삭제", "Delete"),
    "choose_document": ("삭제할 문서를 고르세요", "Choose a document"),
    "delete_confirm": (
        "{name}을(를) 삭제할까요? 되돌릴 수 없습니다.",
        "Delete {name}? This cannot be undone.",
    ),
    "delete_confirm_button": ("네, 삭제합니다", "Yes, delete it"),
    "cancel": ("취소", "Cancel"),
    "deleted": ("삭제했습니다: {name}", "Deleted {name}"),
    # dashboard
    "dashboard_title": ("시스템 현황", "System dashboard"),
    "collections": ("컬렉션", "Collections"),
    "store_size": ("저장소 크기", "Store size"),
    "documents_size": ("문서 크기", "Documents size"),
    "per_collection": ("컬렉션별", "Per collection"),
    "measure": ("항목", "Measure"),
    "count": ("개수", "Count"),
    "embedding_model": ("임베딩 모델", "Embedding model"),
    "storage": ("저장 공간", "Storage"),
    "component": ("구성 요소", "Component"),
    "last_ingests": ("최근 색인", "Last ingests"),
    "no_commits": ("아직 색인 기록이 없습니다.", "No ingests yet."),
    "last_ingests_note": (
        "내가 읽을 수 있는 문서만, 최근에 색인한 순서로",
        "Documents you can read, most recently ingested first",
    ),
    "generator": ("생성기", "Generator"),
    "worker_ok": (
        "워커 정상 ({url}, {latency:.0f} ms): {detail}",
        "Worker healthy ({url}, {latency:.0f} ms): {detail}",
    ),
    "worker_down": ("워커 응답 없음 ({url}): {detail}", "Worker unreachable ({url}): {detail}"),
    "in_process": ("프로세스 내 생성기: {model}", "In-process generator: {model}"),
    "in_process_missing": (
        "생성 모델을 찾을 수 없습니다: {error}",
        "Generator unavailable: {error}",
    ),
    "latency": ("최근 생성 지연", "Recent generation latency"),
    "no_answers_yet": (
        "아직 답변 기록이 없습니다. 대화 페이지에서 질문해 보세요.",
        "No answers yet: ask something in Chat.",
    ),
    "ttft": ("첫 토큰까지(초)", "Time to first token (s)"),
    "tokens_per_s": ("토큰/초", "Tokens/s"),
    "answers": ("답변 {count}개, 실패 {failed}개", "{count} answers, {failed} failed"),
    "answers.one": ("답변 {count}개, 실패 {failed}개", "{count} answer, {failed} failed"),
    "time": ("시각", "Time"),
    # admin
    "admin_title": ("접근 관리", "Access administration"),
    "admin_only": (
        "이 페이지는 {group} 그룹 구성원만 볼 수 있습니다.",
        "Only members of the {group} group may open this page.",
    ),
    "admin_people": ("사용자", "People"),
    "admin_keys": ("API 키", "API keys"),
    "admin_document_access": ("문서 권한", "Document access"),
    "admin_rules": ("접근 규칙", "Access rules"),
    "admin_audit": ("감사 기록", "Audit trail"),
    "admin_who": ("누구", "Who"),
    "admin_name": ("이름", "Name"),
    "admin_groups": ("그룹", "Groups"),
    "admin_first_seen": ("처음 접속", "First seen"),
    "admin_last_seen": ("마지막 접속", "Last seen"),
    "admin_no_people": ("아직 로그인한 사람이 없습니다.", "Nobody has signed in yet."),
    "admin_new_key": ("새 키 만들기", "New key"),
    "admin_key_name": ("키 이름", "Key name"),
    "admin_key_write": (
        "문서 추가·삭제도 허용 (쓰기 권한)",
        "May also add and delete documents (write)",
    ),
    "admin_create_key": ("키 만들기", "Create key"),
    "admin_key_made": (
        "{name} 키를 만들었습니다. 지금 한 번만 보입니다: 복사해 두세요.",
        "Key {name} made. It is shown this once: copy it now.",
    ),
    "admin_revoke_which": ("폐기할 키", "Key to revoke"),
    "admin_revoke": ("키 폐기", "Revoke key"),
    "admin_key_revoked": (
        "{name} 키를 폐기했습니다. 다음 요청부터 거부됩니다.",
        "Key {name} revoked: its next request is refused.",
    ),
    "admin_scopes": ("권한", "Scopes"),
    "admin_created": ("만든 때", "Created"),
    "admin_last_used": ("마지막 사용", "Last used"),
    "admin_revoked": ("폐기됨", "Revoked"),
    "admin_no_keys": ("저장된 키가 없습니다.", "No keys in the store."),
    "admin_documents": ("문서", "Documents"),
    "admin_groups_hint": (
        "그룹을 비우면 모두가 읽을 수 있습니다. "
        "여기서 정한 그룹은 다시 정할 때까지 규칙보다 우선합니다.",
        "No groups: everyone may read them. Groups set here win over the rules until set again.",
    ),
    "admin_set_groups": ("그룹 적용", "Set groups"),
    "admin_groups_set": ("문서 {count}개의 그룹을 바꿨습니다.", "Groups set on {count} documents."),
    "admin_groups_set.one": (
        "문서 {count}개의 그룹을 바꿨습니다.",
        "Groups set on {count} document.",
    ),
    "admin_rules_intro": (
        "경로가 맞는 첫 규칙이 문서의 그룹을 정합니다 (설정 파일의 [[access.rules]]).",
        "The first rule whose path matches gives a document its groups ([[access.rules]] in "
        "the configuration).",
    ),
    "admin_rule_path": ("경로", "Path"),
    "admin_no_rules": ("규칙이 없습니다.", "No rules."),
    "admin_admin_group": ("관리자 그룹", "Admin group"),
    "admin_groups_claim": ("그룹 클레임", "Groups claim"),
    "admin_allowed_users": ("허용된 사용자", "Allowed users"),
    "admin_allowed_domains": ("허용된 도메인", "Allowed domains"),
    "admin_allow_anyone": ("누구나 허용", "Anyone let in"),
    "yes": ("예", "yes"),
    "no": ("아니요", "no"),
    "admin_audit_days": ("기간", "Period"),
    "days": ("최근 {count}일", "last {count} days"),
    "days.one": ("최근 {count}일", "last {count} day"),
    "admin_time": ("시각", "Time"),
    "admin_surface": ("채널", "Surface"),
    "admin_action": ("동작", "Action"),
    "admin_question": ("질문", "Question"),
    "admin_detail": ("세부", "Detail"),
    "admin_no_audit": ("이 기간의 기록이 없습니다.", "No entries in this period."),
    "admin_audit_download": ("JSONL로 내려받기", "Download as JSONL"),
    # dashboard: synced sources (ui/web/sources_panel.py)
    "synced_sources": ("동기화 소스", "Synced sources"),
    "source": ("소스", "Source"),
    "last_sync": ("마지막 동기화", "Last sync"),
    "sync_status": ("상태", "Status"),
    "never_synced": ("아직 동기화하지 않음", "never synced"),
    "sync_status_ok": ("정상", "ok"),
    "sync_status_partial": ("일부 실패", "partial"),
    "sync_status_failed": ("실패", "failed"),
    "sync_ingested": ("색인", "Ingested"),
    "sync_removed": ("삭제", "Removed"),
    "sync_unchanged": ("변경 없음", "Unchanged"),
    "sync_failed": ("실패", "Failed"),
    "chunks_embedded": ("임베딩한 청크", "Chunks embedded"),
    "source_errors": ("{name}: 마지막 동기화의 오류", "{name}: errors of the last sync"),
    "more_errors": ("그 밖의 오류 {count}개", "and {count} more errors"),
    "more_errors.one": ("그 밖의 오류 {count}개", "and {count} more error"),
    # saved conversations (ui/web/conversations.py, views/shared.py)
    "saved_conversations": ("대화 기록", "Conversations"),
    "no_saved_conversations": (
        "아직 저장된 대화가 없습니다. 질문하면 여기에 저장됩니다.",
        "No saved conversations yet. Ask a question and it is kept here.",
    ),
    "conversation_not_found": (
        "이 주소의 대화를 찾을 수 없습니다. 삭제되었거나 다른 사람의 대화입니다.",
        "The conversation in this address was not found: it was deleted or is someone else's.",
    ),
    "this_conversation": ("이 대화 관리", "This conversation"),
    "conversation_title": ("대화 제목", "Title"),
    "rename": ("이름 바꾸기", "Rename"),
    "share": ("공유 링크 만들기", "Create a share link"),
    "stop_sharing": ("공유 중지", "Stop sharing"),
    "share_explained": (
        "공유 링크는 읽기 전용이며, 이 대화가 인용한 모든 문서를 읽을 수 있는 사람에게만 열립니다.",
        "A share link is read-only and opens only for people who may read every document this "
        "conversation cites.",
    ),
    "confirm_delete_conversation": ("이 대화를 삭제합니다", "Yes, delete this conversation"),
    "delete_conversation": ("대화 삭제", "Delete conversation"),
    "export_question": ("질문", "Question"),
    "export_answer": ("답변", "Answer"),
    "export_sources": ("출처", "Sources"),
    "export_page": ("{page}쪽", "p. {page}"),
    "export_no_answer": ("답변 없음: {error}", "No answer: {error}"),
    "image_not_kept": ("(첨부한 이미지는 저장되지 않습니다)", "(the attached image is not kept)"),
    "shared_title": ("공유된 대화", "Shared conversation"),
    "shared_caption": (
        "읽기 전용 · 컬렉션: {collection} · 시작: {started}",
        "Read-only · collection: {collection} · started {started}",
    ),
    "share_refused": (
        "이 공유 링크를 열 수 없습니다. 링크가 만료되었거나, 대화가 인용한 문서 중 읽을 권한이 "
        "없는 문서가 있습니다.",
        "This share link cannot be opened: it was withdrawn, or the conversation cites a "
        "document you may not read.",
    ),
    # the knowledge report (ui/web/knowledge.py)
    "report_title": ("무엇을 묻고 무엇에 답하지 못했나", "What is asked, and what goes unanswered"),
    "report_period": ("기간 (최근 며칠)", "Period (last days)"),
    "report_asked": ("질문", "Questions"),
    "report_answered": ("답변함", "Answered"),
    "report_not_answered": ("문서에 없음", "Not in the documents"),
    "report_latency": ("답변 시간 (중앙값 / 95%)", "Answer time (median / 95th pct.)"),
    "report_latency_value": ("{p50:.1f}초 / {p95:.1f}초", "{p50:.1f} s / {p95:.1f} s"),
    "report_nothing_asked": (
        "이 기간에 읽을 수 있는 문서에 대한 질문이 없습니다.",
        "No questions about documents you may read in this period.",
    ),
    "report_day": ("날짜", "Day"),
    "report_status": ("결과", "Result"),
    "report_gaps": ("답하지 못한 질문 (비슷한 질문끼리)", "Unanswered questions (alike together)"),
    "report_gaps_note": (
        "문서에 답이 없던 질문입니다. 다음에 문서로 정리할 내용입니다.",
        "Questions the documents could not answer: what to write down next.",
    ),
    "report_no_gaps": ("답하지 못한 질문이 없습니다.", "No unanswered questions."),
    "report_questions": ("질문", "Questions"),
    "report_hashes_only": ("(질문 내용은 저장되지 않음)", "(only hashes kept)"),
    "report_times_asked": ("횟수", "Times asked"),
    "report_last_asked": ("마지막 질문", "Last asked"),
    "report_most_cited": ("가장 많이 인용된 문서", "Most cited documents"),
    "report_never_cited": ("인용된 적 없는 문서 ({count}개)", "Never cited documents ({count})"),
    "report_times_cited": ("인용 횟수", "Times cited"),
    "report_none": ("없음", "None"),
    "report_thumbs": ("컬렉션별 평가", "Ratings per collection"),
    "report_no_thumbs": ("이 기간의 평가가 없습니다.", "No ratings in this period."),
}


def resolve_language(setting: str, locale: str | None) -> str:
    """``ko`` or ``en`` from the setting, or for ``auto`` from the browser's locale."""
    if setting in LANGUAGES:
        return setting
    return "ko" if (locale or "").lower().startswith("ko") else "en"


def init_language(settings: Settings) -> str:
    """Set this session's language once (the sidebar toggle changes it later)."""
    if st.session_state.get(LANGUAGE_KEY) not in LANGUAGES:
        st.session_state[LANGUAGE_KEY] = resolve_language(settings.ui.language, st.context.locale)
    return st.session_state[LANGUAGE_KEY]


def t(key: str, **values: object) -> str:
    """The label ``key`` in the session's language, formatted with ``values``.

    English counts take a plural: a label with a ``{count}`` field says it in the plural, and
    its ``<key>.one`` twin, when there is one, says it for a count of 1 (Korean counts with
    counters and needs no second form).
    """
    if values.get("count") == 1 and f"{key}.one" in LABELS:
        key = f"{key}.one"
    korean, english = LABELS[key]
    if st.session_state.get(LANGUAGE_KEY) != "ko":
        return english.format(**values) if values else english
    return attach_particles(korean.format(**values)) if values else korean
