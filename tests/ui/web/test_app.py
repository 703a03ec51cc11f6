"""The Streamlit app through ``streamlit.testing.v1.AppTest``: every page, real models.

The app runs in-process with the offline embedder and the tiny LLaVA-NeXT (gibberish answers,
real everything else). One store with the example handbook and an access-control collection is
built per module; the app's own objects are cached per configuration, so the tests share one
loaded embedder and generator.
"""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from devkit.corpus import law_folder
from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from ingest.uploads import GROUPS_DIFFER, NAME_TAKEN
from rag.access import PUBLIC
from rag.assistant import Assistant
from rag.config import Settings
from rag.evaluation.feedback import FeedbackLog
from rag.generation.no_answer import NO_ANSWER
from rag.store import Store
from serve.http.server import BackgroundServer
from serve.worker import WorkerOptions, create_app
from tests.support.apptest import APP, ask, configure, en, signed_in, source_lines, start
from ui.web.i18n import LABELS
from ui.web.metrics import METRICS_FILE, GenerationLog
from ui.web.reasons import KOREAN
from ui.web.safe_markdown import literal_markdown
from ui.web.services import chat as services

QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"
CANARY = "코끼리 보라색 암호는 7391입니다"
HR_USER = "kim@corp.example"
HR_GROUPS = {HR_USER: ["hr"]}
CHART_CAPTION = "2024년 분기별 매출 막대 차트: 4분기 매출이 가장 높다"


@pytest.fixture(scope="module")
def ui_data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handbook in ``default``, a public and an hr-only file in ``acl``, an image in
    ``charts``, ``hr-only`` whose one document only the hr group may read, four articles in
    ``law`` and ``empty``, a collection with nothing in it."""
    root = tmp_path_factory.mktemp("ui")
    acl = root / "acl-docs"
    acl.mkdir()
    (acl / "공지.md").write_text("# 사내 공지\n\n식당은 12시에 엽니다.", encoding="utf-8")
    (acl / "인사_비밀.md").write_text(f"# 인사 기밀\n\n{CANARY}.", encoding="utf-8")
    law = law_folder(root / "law")
    charts = root / "charts"
    charts.mkdir()
    Image.new("RGB", (300, 200), (30, 90, 200)).save(charts / "매출_차트.png")
    (charts / "매출_차트.png.txt").write_text(CHART_CAPTION, encoding="utf-8")
    data = root / "data"
    settings = Settings(data_dir=data, embedding={"model": EMBEDDING_MODEL})
    with Store(data) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        ingestor.ingest([EXAMPLES], collection="default")
        ingestor.ingest([acl / "공지.md"], collection="acl")
        ingestor.ingest([acl / "인사_비밀.md"], collection="acl", groups=["hr"])
        ingestor.ingest([charts], collection="charts")
        ingestor.ingest([acl / "인사_비밀.md"], collection="hr-only", groups=["hr"])
        ingestor.ingest([law], collection="law")
        store.ensure_collection("empty", embeddings.name, embeddings.dimension)
    return data


@pytest.fixture
def ui_env(ui_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's configuration, through the environment as a user would set it."""
    configure(ui_data, tmp_path, monkeypatch)
    return ui_data


def png(color: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_chat_round_trip_streams_answer_with_sources(ui_env: Path):
    at = ask(start(), QUESTION)
    user, answer = at.chat_message
    assert user.markdown[0].value == QUESTION
    assert answer.markdown[0].value.strip()  # the streamed (gibberish) answer
    lines = source_lines(at)
    assert lines[0].startswith("**\\[1\\]** " + literal_markdown("휴가_정책.md"))
    # top_k at most: the passages under the relevance floor (min_relevance) are not shown
    assert 1 <= len(lines) <= 5 and not answer.error
    # the retriever's passages above the floor, in their order (the app's settings, from the
    # environment), each with its relevance as a word
    expected = Assistant(Settings()).retriever().invoke(QUESTION)
    assert [line.split(" · ")[0] for line in lines] == [
        f"**\\[{n}\\]** " + literal_markdown(Path(d.metadata["path"]).name)
        for n, d in enumerate(expected, 1)
    ]
    assert all("-badge[relevance " in line for line in lines)
    assert any("최대 11일" in caption.value for caption in answer.caption)
    # the answer was timed into the store folder, for the dashboard
    sample = GenerationLog(ui_env / METRICS_FILE).recent()[-1]
    assert sample.error is None and sample.output_tokens > 0 and sample.ttft_s is not None
    # history survives the next rerun
    at.run()
    assert [m.name for m in at.chat_message] == ["user", "assistant"]


def test_a_scripted_answer_shows_exactly_with_its_citation(ui_env: Path, monkeypatch):
    """The page's whole path with an answer known in advance: [1]'s opening sentence, cited."""
    monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER", "{1} [1]")
    at = ask(start(), QUESTION)
    _, answer = at.chat_message
    shown = answer.markdown[0].value.replace("\\", "")  # Markdown escapes aside
    assert shown.endswith(" [1]")
    quoted = shown.removesuffix(" [1]")
    top = next(caption.value for caption in answer.caption if "최대 11일" in caption.value)
    assert quoted.endswith(".") and quoted in top.replace("\\", "")  # a sentence of [1]
    assert source_lines(at)[0].startswith("**\\[1\\]** " + literal_markdown("휴가_정책.md"))


def test_chat_with_image_shows_its_thumbnail_under_the_answer(ui_env: Path):
    at = ask(start(), "이 사진은 무슨 색인가요?", image=png("red"))
    answer = at.chat_message[-1]
    assert not answer.error
    captions = [c.value for c in answer.caption]
    assert en("images_in_prompt") in captions
    assert len(answer.image) >= 1  # the user's image, as a thumbnail under the answer
    assert len(at.chat_message[0].image) == 1  # and in the question bubble


def test_retrieved_image_is_shown_with_its_citation_number(ui_env: Path):
    at = start()
    at.selectbox(key="chat_collection").set_value("charts").run()
    ask(at, "분기별 매출 차트를 보여 주세요")
    answer = at.chat_message[-1]
    assert not answer.error
    assert source_lines(at)[0].startswith("**\\[1\\]** " + literal_markdown("매출_차트.png"))
    captions = [caption for image in answer.image for caption in image.captions]
    # the stored image that went into the prompt, its name as text (a caption is Markdown)
    assert literal_markdown("[1] 매출_차트.png") in captions


def test_chat_refuses_a_broken_image_with_a_message(ui_env: Path):
    at = ask(start(), "이건?", image=b"\x89PNG\r\n\x1a\n broken")
    answer = at.chat_message[-1]
    assert answer.error and "image" in answer.error[0].value.lower()


def test_the_chat_box_stops_a_question_at_its_limit(ui_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_CONVERSATION__MAX_QUESTION_CHARS", "20")
    at = start()
    assert at.chat_input[0].max_chars == 20  # the browser's box takes no more
    ask(at, "연차 휴가는 입사 첫해에 최대 며칠까지 쓸 수 있나요?")  # 29 characters sent anyway
    asked = at.chat_message[-2].markdown[0].value
    assert asked == literal_markdown("연차 휴가는 입사 첫해에 최대 며칠까")  # cut by the server too
    assert not at.chat_message[-1].error


def test_library_upload_ingests_files_and_reports_each(ui_env: Path, tmp_path: Path):
    at = start()
    at.switch_page("views/library.py").run()
    at.selectbox(key="library_collection").set_value("\x00new").run()
    at.text_input(key="library_collection_new").set_value("업로드").run()
    assert not at.exception, at.exception
    at.file_uploader[0].set_value(
        [
            (
                "도서관 규정.md",
                "# 도서관\n\n책은 2주 동안 빌릴 수 있습니다.".encode(),
                "text/markdown",
            ),
            ("../../escape.md", b"# escape\n\nwritten where?", "text/markdown"),
            ("empty.txt", b"", "text/plain"),
        ]
    )
    next(b for b in at.button if b.label == en("ingest_button")).click().run()
    assert not at.exception, at.exception
    results = at.dataframe[0].value
    by_file = dict(zip(results["file"], results["result"], strict=True))
    assert by_file == {
        "도서관 규정.md": "ingested",
        "../../escape.md": "ingested",
        "empty.txt": "failed",
    }
    assert results[results["file"] == "empty.txt"]["detail"].iloc[0]  # with its reason
    assert results[results["file"] == "도서관 규정.md"]["detail"].iloc[0] == chunk_count(1)
    assert "1 failed" in at.warning[0].value
    uploads = ui_env / "uploads" / "업로드" / "public"
    assert sorted(p.name for p in uploads.iterdir()) == ["escape.md", "도서관_규정.md"]
    assert not (ui_env.parent / "escape.md").exists() and not (tmp_path / "escape.md").exists()
    listed = at.dataframe[1].value
    assert sorted(listed["file"]) == ["escape.md", "도서관_규정.md"]
    assert at.metric[0].value == "2"  # documents in the collection

    # delete one: nothing chosen at first, and the first click only asks
    doomed = at.selectbox(key="library_doomed")
    assert doomed.value is None
    assert next(b for b in at.button if b.label == en("delete_button")).disabled
    doomed.select_index(next(i for i, o in enumerate(doomed.options) if o.startswith("escape.md")))
    doomed.run()
    next(b for b in at.button if b.label == en("delete_button")).click().run()
    assert not at.exception, at.exception
    assert at.warning[-1].value == literal_markdown("Delete escape.md? This cannot be undone.")
    assert sorted(p.name for p in uploads.iterdir()) == ["escape.md", "도서관_규정.md"]
    at.button(key="library_delete_cancel").click().run()  # cancel: still there, asked no more
    assert sorted(p.name for p in uploads.iterdir()) == ["escape.md", "도서관_규정.md"]
    assert not any(b.key == "library_delete_confirm" for b in at.button)
    next(b for b in at.button if b.label == en("delete_button")).click().run()
    at.button(key="library_delete_confirm").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == literal_markdown("Deleted escape.md")
    assert list(at.dataframe[-1].value["file"]) == ["도서관_규정.md"]
    assert sorted(p.name for p in uploads.iterdir()) == ["도서관_규정.md"]


def test_dashboard_renders_counts_ingests_and_latency(ui_env: Path):
    at = ask(start(), QUESTION)
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics[en("documents")]) >= 7 and int(metrics[en("chunks")]) >= 7
    assert metrics[en("documents_size")].endswith(("KB", "MB"))  # what this viewer reads
    frames = [f.value for f in at.dataframe]
    per_collection = next(f for f in frames if "Collection" in f and "Images" in f)
    assert {"default", "acl"} <= set(per_collection["Collection"])
    recent = next(f for f in frames if en("ingested_at") in f)  # last ingests, newest first
    assert len(recent) > 0 and "인사_비밀.md" not in set(recent[en("file")])
    assert list(recent[en("ingested_at")]) == sorted(recent[en("ingested_at")], reverse=True)
    healthy = en("in_process").format(model=GENERATOR_MODEL)
    assert at.success[0].value == literal_markdown(healthy)
    # questions per day, per-collection bars, TTFT, tokens/s
    assert len(at.get("vega_lite_chart")) == 4


def test_restricted_document_never_reaches_outsiders(ui_env: Path, monkeypatch):
    def as_user(email: str) -> AppTest:
        at = signed_in(email, monkeypatch, HR_GROUPS)
        at.selectbox(key="chat_collection").set_value("acl").run()
        return ask(at, CANARY)

    def library_files(at: AppTest) -> list[str]:
        at.switch_page("views/library.py").run()
        at.selectbox(key="library_collection").set_value("acl").run()
        assert not at.exception, at.exception
        return list(at.dataframe[-1].value["file"])

    outsider = as_user("lee@corp.example")
    assert all("인사" not in line for line in source_lines(outsider))
    assert all(CANARY not in c.value for c in outsider.chat_message[-1].caption)
    assert library_files(outsider) == ["공지.md"]

    insider = as_user(HR_USER)  # the same question finds it for a member of "hr"
    assert source_lines(insider)[0].startswith("**\\[1\\]** " + literal_markdown("인사_비밀.md"))
    assert sorted(library_files(insider)) == ["공지.md", "인사_비밀.md"]


def test_sign_in_is_required_when_auth_is_on(ui_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_UI__AUTH", "true")
    at = AppTest.from_file(APP, default_timeout=240)
    at.user = {"is_logged_in": False}
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-secret",
        "client_id": "id",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == [en("sign_in")]
    assert not at.chat_input  # no page runs before sign-in


def test_unreachable_worker_is_a_message_and_the_rest_works(ui_env: Path, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__WORKER_URL", f"http://127.0.0.1:{port}/v1")
    at = ask(start(), QUESTION)
    answer = at.chat_message[-1]
    assert answer.error and "unreachable" in answer.error[0].value
    assert source_lines(at)  # retrieval worked; its sources are still shown
    at.switch_page("views/library.py").run()
    assert not at.exception and at.dataframe
    at.switch_page("views/dashboard.py").run()
    assert not at.exception and "unreachable" in at.error[0].value
    failed = GenerationLog(ui_env / METRICS_FILE).recent()[-1]
    assert failed.error and failed.ttft_s is None


def test_chat_through_the_gpu_worker_and_its_health(ui_env: Path, chat_model, monkeypatch):
    key = "web-test-key-7f3a91bc"
    worker = create_app(chat_model, WorkerOptions(model_id=GENERATOR_MODEL, api_key=key))
    server = BackgroundServer(worker).start()
    try:
        monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__WORKER_URL", server.url)
        monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__WORKER_API_KEY", key)
        at = start()
        at.switch_page("views/dashboard.py").run()  # probing is not loading: 503 until ready
        assert not at.exception, at.exception
        at.switch_page("views/chat.py").run()
        ask(at, QUESTION)
        answer = at.chat_message[-1]
        assert not answer.error and answer.markdown[0].value.strip()
        assert source_lines(at)[0].startswith("**\\[1\\]** " + literal_markdown("휴가_정책.md"))
        sample = GenerationLog(ui_env / METRICS_FILE).recent()[-1]
        assert sample.backend == "worker" and sample.error is None and sample.output_tokens > 0
        at.switch_page("views/dashboard.py").run()
        healthy = at.success[0].value
        assert healthy.startswith("Worker healthy") and literal_markdown("status=ok") in healthy
    finally:
        server.stop()


def test_every_page_renders_on_an_empty_store(ui_env: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_DATA_DIR", str(tmp_path / "empty"))
    at = start()
    assert at.info[0].value == en("no_collections") and at.chat_input[0].disabled
    at.switch_page("views/library.py").run()
    assert not at.exception and at.file_uploader and at.info[0].value == en("no_documents")
    at.switch_page("views/dashboard.py").run()
    assert not at.exception and en("no_collections") in [i.value for i in at.info]


def test_language_follows_the_browser_and_the_toggle(ui_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_UI__LANGUAGE", "auto")
    at = start(locale="ko-KR")
    assert at.title[0].value == LABELS["chat_title"][0]
    at.segmented_control(key="language").set_value("en").run()
    assert at.title[0].value == en("chat_title")
    assert start(locale="en-US").title[0].value == en("chat_title")


def test_failure_reasons_are_korean_in_korean_mode(ui_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_UI__LANGUAGE", "ko")
    at = start()
    at.switch_page("views/library.py").run()  # into the default collection: both fail
    files = [("empty.txt", b""), ("binary.txt", b"\x00\x01 not text")]
    at.file_uploader[0].set_value([(name, data, "text/plain") for name, data in files])
    next(b for b in at.button if b.label == LABELS["ingest_button"][0]).click().run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    ko = {key: LABELS[key][0] for key in ("file", "result", "detail", "status_failed")}
    rows = zip(frame[ko["result"]], frame[ko["detail"]], strict=True)
    results = dict(zip(frame[ko["file"]], rows, strict=True))
    assert results == {
        "empty.txt": (ko["status_failed"], KOREAN["file is empty"]),
        "binary.txt": (ko["status_failed"], KOREAN["contains NUL bytes: binary data, not text"]),
    }


def test_a_doc_says_save_as_docx_and_a_caption_is_applied_in_korean(ui_env: Path):
    at = start()
    at.switch_page("views/library.py").run()
    at.selectbox(key="library_collection").set_value("\x00new").run()
    at.text_input(key="library_collection_new").set_value("캡션").run()
    files = [
        ("보고서.doc", b"\xd0\xcf\x11\xe0 old Word", "application/msword"),
        ("표지.png", png("red"), "image/png"),
        ("표지.png.txt", "빨간 표지".encode(), "text/plain"),
        ("지도.png", png("blue"), "image/png"),
    ]
    at.file_uploader[0].set_value(files)
    next(box for box in at.text_input if box.label == en("image_caption")).set_value("파란 지도")
    next(b for b in at.button if b.label == en("ingest_button")).click().run()
    at.segmented_control(key="language").set_value("ko").run()  # the results, in Korean
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    ko = {key: LABELS[key][0] for key in ("file", "result", "detail")}
    rows = zip(frame[ko["result"]], frame[ko["detail"]], strict=True)
    results = dict(zip(frame[ko["file"]], rows, strict=True))
    legacy = KOREAN[
        "legacy Office file {suffix}: save it as {modern} "
        "(File > Save As in Office or LibreOffice) and ingest that"
    ].format(suffix=".doc", modern=".docx")
    assert results["보고서.doc"] == (LABELS["status_failed"][0], legacy)
    applied = LABELS["caption_applied"][0].format(image="표지.png")
    assert results["표지.png.txt"] == (LABELS["status_ingested"][0], applied)
    assert results["지도.png"][0] == LABELS["status_ingested"][0]
    with Store(ui_env) as store:
        texts = {
            Path(d.source_path).name: " ".join(c.text for c in store.document_chunks("캡션", d.id))
            for d in store.documents("캡션")
        }
    assert "빨간 표지" in texts["표지.png"] and "파란 지도" in texts["지도.png"]


# --- uploads cannot take over a document; metadata follows access --------------------------------

PLAN = "# 채용 계획\n\n2025년 하반기에 개발자 3명을 채용합니다."


def chunk_count(count: int) -> str:
    """The result table's detail for an ingested file of ``count`` chunks."""
    return en("file_chunks.one" if count == 1 else "file_chunks").format(count=count)


def upload(
    at: AppTest, collection: str, files: list[tuple[str, bytes]], groups: list[str] = ()
) -> dict[str, tuple[str, str]]:
    """Upload into ``collection`` (typed as a new name when it is not listed); file -> result."""
    at.switch_page("views/library.py").run()
    picker = at.selectbox(key="library_collection")
    if collection in picker.options:
        picker.set_value(collection).run()
    else:
        picker.set_value("\x00new").run()
        at.text_input(key="library_collection_new").set_value(collection).run()
    at.file_uploader[0].set_value([(name, data, "text/plain") for name, data in files])
    if groups:
        at.multiselect[0].set_value(list(groups))
    next(b for b in at.button if b.label == en("ingest_button")).click().run()
    assert not at.exception, at.exception
    frame = at.dataframe[0].value
    return {
        name: (result, detail)
        for name, result, detail in zip(
            frame["file"], frame["result"], frame["detail"], strict=True
        )
    }


def plan_document(data: Path, collection: str):
    with Store(data) as store:
        [document] = store.documents(collection)
        return document, [c.id for c in store.document_chunks(collection, document.id)]


def test_an_upload_neither_takes_over_nor_reveals_a_document_of_other_groups(
    ui_env: Path, monkeypatch: pytest.MonkeyPatch
):
    insider = signed_in(HR_USER, monkeypatch, HR_GROUPS)
    uploaded = upload(insider, "plans", [("plan.txt", PLAN.encode())], ["hr"])
    original, chunks = plan_document(ui_env, "plans")
    assert uploaded == {"plan.txt": ("ingested", chunk_count(len(chunks)))}  # as the CLI says
    saved = ui_env / "uploads" / "plans" / "groups-hr" / "plan.txt"
    assert saved.read_text(encoding="utf-8") == PLAN

    # an outsider's upload of that name is their own public document, reported exactly as an
    # upload of a name nobody used: nothing tells them the hr document exists
    outsider = signed_in("lee@corp.example", monkeypatch, HR_GROUPS)
    mine = b"# my plan\n\nlunch at noon"
    over = upload(outsider, "plans", [("../../plan.txt", mine)])
    fresh = upload(outsider, "plans-fresh", [("../../plan.txt", mine)])
    assert over == fresh == {"../../plan.txt": ("ingested", chunk_count(1))}
    with Store(ui_env) as store:
        by_path = {d.source_path: d for d in store.documents("plans")}
    hr_plan = by_path.pop(str(saved))
    assert (hr_plan, [c.id for c in Store(ui_env).document_chunks("plans", hr_plan.id)]) == (
        original,
        chunks,
    )
    [public] = by_path.values()
    assert public.groups == () and public.source_path.endswith("/public/plan.txt")

    # only a document whose groups changed since, to ones the uploader may not read (or other
    # ones), still stands in the way: refused, with nothing replaced
    with Store(ui_env) as store:
        store.regroup("plans", [hr_plan], ["legal"])
    taken = upload(insider, "plans", [("plan.txt", b"# v2\n\nnew")], ["hr"])
    assert taken == {"plan.txt": ("failed", NAME_TAKEN.format(name="plan.txt"))}
    with Store(ui_env) as store:
        store.regroup("plans", [store.document("plans", hr_plan.id)], ["hr", "legal"])
    differ = upload(insider, "plans", [("plan.txt", b"# v2\n\nnew")], ["hr"])
    assert differ == {
        "plan.txt": ("failed", GROUPS_DIFFER.format(name="plan.txt", groups="hr, legal"))
    }
    assert saved.read_text(encoding="utf-8") == PLAN


def test_a_failed_upload_leaves_the_original_file_and_its_chunks(
    ui_env: Path, monkeypatch: pytest.MonkeyPatch
):
    at = signed_in(HR_USER, monkeypatch, HR_GROUPS)
    upload(at, "plans-failed", [("plan.txt", PLAN.encode())], ["hr"])
    original, chunks = plan_document(ui_env, "plans-failed")
    results = upload(at, "plans-failed", [("plan.txt", b"\x00\x01 not text")], ["hr"])
    assert results["plan.txt"][0] == "failed" and "NUL" in results["plan.txt"][1]
    saved = ui_env / "uploads" / "plans-failed" / "groups-hr" / "plan.txt"
    assert saved.read_text(encoding="utf-8") == PLAN
    assert plan_document(ui_env, "plans-failed") == (original, chunks)
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]  # no staging left

    changed = PLAN + "\n\n면접은 2회입니다."
    replaced = upload(at, "plans-failed", [("plan.txt", changed.encode())], ["hr"])
    assert replaced == {
        "plan.txt": ("ingested", chunk_count(len(plan_document(ui_env, "plans-failed")[1])))
    }
    assert saved.read_text(encoding="utf-8") == changed  # a good upload does replace it


def test_groups_are_chosen_among_the_users_own(ui_env: Path, monkeypatch: pytest.MonkeyPatch):
    at = signed_in(HR_USER, monkeypatch, HR_GROUPS)
    at.switch_page("views/library.py").run()
    assert at.multiselect[0].options == ["hr"]
    outsider = signed_in("lee@corp.example", monkeypatch, HR_GROUPS)
    outsider.switch_page("views/library.py").run()
    assert not outsider.multiselect  # no group to choose: no picker, and it says so
    assert en("upload_for_everyone") in [caption.value for caption in outsider.caption]
    # the service checks it too, whatever a crafted request sends
    from rag.access import Access
    from rag.assistant import Assistant
    from rag.errors import BllossomRagError
    from ui.web.services.library import uploads

    crafted = Assistant(Settings(data_dir=ui_env, embedding={"model": EMBEDDING_MODEL}))
    with pytest.raises(BllossomRagError, match="finance"):
        uploads(crafted).ingest(
            [("x.txt", b"text")],
            collection="plans-groups",
            groups=["finance"],
            access=Access.for_groups(["hr"]),
        )
    assert not (ui_env / "uploads" / "plans-groups").exists()


def test_collections_and_ingests_nobody_may_read_are_not_listed(
    ui_env: Path, monkeypatch: pytest.MonkeyPatch
):
    def seen(at: AppTest) -> tuple[list[str], list[str], set[str], set[str]]:
        chat = list(at.selectbox(key="chat_collection").options)
        at.switch_page("views/library.py").run()
        library = [o for o in at.selectbox(key="library_collection").options if o != "\x00new"]
        at.switch_page("views/dashboard.py").run()
        assert not at.exception, at.exception
        frames = [f.value for f in at.dataframe]
        per_collection = next(f for f in frames if "Images" in f)
        recent = next(f for f in frames if en("ingested_at") in f)
        return chat, library, set(per_collection[en("collection")]), set(recent[en("collection")])

    chat, library, dashboard, recent = seen(signed_in("lee@corp.example", monkeypatch, HR_GROUPS))
    assert "hr-only" not in chat and "hr-only" not in library
    assert "hr-only" not in dashboard and "hr-only" not in recent
    assert {"acl", "default"} <= set(chat) & set(library) & dashboard

    chat, library, dashboard, _ = seen(signed_in(HR_USER, monkeypatch, HR_GROUPS))
    assert "hr-only" in chat and "hr-only" in library and "hr-only" in dashboard


# --- a conversation: follow-ups, new conversations, ratings; honest answers; dashboard details ----

FIRST = "국회의원의 임기는 몇 년인가요?"
FOLLOW_UP = "그럼 대통령은?"


def cited_first(at: AppTest, message: int) -> str:
    """The ``[1]`` line under the chat message at ``message``."""
    lines = [m.value for m in at.chat_message[message].markdown if m.value.startswith("**\\[")]
    return lines[0]


def law_chat() -> AppTest:
    at = start()
    at.selectbox(key="chat_collection").set_value("law").run()
    return at


def test_a_follow_up_uses_the_conversation_and_a_new_one_starts_over(ui_env: Path):
    at = ask(ask(law_chat(), FIRST), FOLLOW_UP)
    term = "**\\[1\\]** " + literal_markdown("대통령_임기.txt")
    assert cited_first(at, 3).startswith(term)  # the president's term, from the history
    assert cited_first(at, 1).startswith("**\\[1\\]** " + literal_markdown("국회.txt"))  # its own
    next(b for b in at.button if b.label == en("new_conversation")).click().run()
    assert not at.chat_message
    alone = ask(at, FOLLOW_UP)
    assert not source_lines(alone)[0].startswith(term)  # the same words alone: another article


def test_thumbs_are_kept_with_the_question_the_conversation_and_the_sources(ui_env: Path):
    log = FeedbackLog.in_data_dir(ui_env)
    before = len(log.entries())
    at = ask(ask(law_chat(), FIRST), FOLLOW_UP)
    assert len(at.feedback) == 2  # one under each answer
    at.feedback[1].set_value(1).run()
    at.feedback[0].set_value(0).run()
    first_answer = at.chat_message[1].markdown[0].value
    up, down = log.entries()[before:]
    assert (up.question, up.rating, up.collection) == (FOLLOW_UP, 1, "law")
    assert up.history[0] == {"role": "user", "content": FIRST}
    assert up.history[1]["role"] == "assistant" and up.history[1]["content"].strip()
    assert first_answer.strip()
    assert Path(up.sources[0]["source"]).name == "대통령_임기.txt"
    assert {"id", "source", "page", "text", "score", "document_id"} <= set(up.sources[0])
    assert (down.question, down.rating, down.history) == (FIRST, -1, ())


def test_nothing_found_is_the_fixed_answer_without_sources(ui_env: Path):
    assistant = Assistant(
        Settings(
            data_dir=ui_env,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL},
        )
    )
    options = services.AskOptions("empty", 5, 8, 0.0, 0.9)
    for question, language in [("연차는 며칠인가요?", "ko"), ("How long is leave?", "en")]:
        stream = services.ask(assistant, question, None, options, PUBLIC)
        assert "".join(stream) == NO_ANSWER[language]
        assert services.source_views(stream.result.documents) == []


def test_bar_colours_follow_the_measure_not_the_language_and_times_stay_as_written(
    ui_env: Path,
):
    at = start()
    ask(at, "연차는 며칠인가요?")  # one answer: its latency is charted
    specs = {}
    for language in ("en", "ko"):
        at.segmented_control(key="language").set_value(language).run()
        at.switch_page("views/dashboard.py").run()
        assert not at.exception, at.exception
        specs[language] = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    for language, (per_day, bars, ttft, _speed) in specs.items():
        said = LABELS["report_answered"][0 if language == "ko" else 1]
        not_said = LABELS["report_not_answered"][0 if language == "ko" else 1]
        assert per_day["encoding"]["color"]["scale"]["domain"] == [said, not_said]
        assert "params" not in per_day  # a picture: no wheel zoom, no drag
        scale = bars["encoding"]["color"]["scale"]
        labels = [
            LABELS[key][0 if language == "ko" else 1] for key in ("documents", "chunks", "images")
        ]
        assert dict(zip(scale["domain"], scale["range"], strict=True)) == dict(
            zip(labels, ["#0068c9", "#ff8700", "#29b09d"], strict=True)
        )
        assert "params" not in bars  # no zoom: the mouse wheel scrolls the page
        words = LABELS if language == "ko" else {}
        tooltips = [tip["field"] for tip in bars["encoding"]["tooltip"]]
        assert tooltips == [
            LABELS[key][0 if words else 1] for key in ("collection", "measure", "count")
        ]
        assert ttft["encoding"]["x"]["type"] == "ordinal"  # times as text, as the tables write
        assert ttft["mark"]["point"] is True  # one answer is a point, not an empty line


def test_the_collection_is_kept_in_the_address_and_a_reload_opens_it(ui_env: Path):
    at = start()
    at.selectbox(key="chat_collection").set_value("law").run()
    assert at.query_params["collection"] == "law"
    reloaded = AppTest.from_file(APP, default_timeout=240)
    reloaded.query_params["collection"] = "law"  # a new session, with the page's address
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.selectbox(key="chat_collection").value == "law"
    reloaded.switch_page("views/library.py").run()  # and the other pages follow it
    assert reloaded.selectbox(key="library_collection").value == "law"


def test_an_empty_chat_shows_the_collection_and_asks_an_example_on_a_click(ui_env: Path):
    at = start()
    at.selectbox(key="chat_collection").set_value("law").run()
    with Store(ui_env) as store:
        info = store.collection("law")
    expected = en("collection_size").format(name="law", count=info.documents, chunks=info.chunks)
    assert at.info[0].value == literal_markdown(expected)
    examples = [b for b in at.button if b.key and b.key.startswith("chat_example-")]
    assert 3 <= len(examples) <= 4
    assert len({b.label for b in examples}) == len(examples)
    assert [b.label for b in start().button if b.key and b.key.startswith("chat_example-")]
    settings = next(e for e in at.expander if e.label == en("generation_settings"))
    assert not settings.proto.expanded  # the administrator's defaults, closed
    question = examples[0].label
    examples[0].click().run()
    assert not at.exception, at.exception
    assert literal_markdown(at.chat_message[0].markdown[0].value) == question  # asked as shown
    assert not [b for b in at.button if b.key and b.key.startswith("chat_example-")]
