"""The settings' sections: one table of ``bllossom-rag.toml`` each, one concern each.

Every field says what it does in its ``description``, which the configuration reference is
generated from (``docs/reference/configuration.md``), so the meaning of a setting is written in
exactly one place. Rules between two fields of one section are checked with the section and
name both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# A key written in the configuration is refused below this length: an unset shell variable
# ("") or a placeholder ("changeme", "key") would let in whoever tries it. ``keys create``
# makes keys of 47 characters; 16 random characters are already out of reach of guessing.
MIN_KEY_LENGTH = 16


class Section(BaseModel):
    """A table of settings: unknown keys are errors, values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def check_order(section: BaseModel, low: str, high: str, *, equal: bool, prefix: str) -> None:
    """Refuse ``low`` above ``high`` (or equal to it unless ``equal``), naming both.

    Raises:
        ValueError: The message names both settings with their values.

    """
    small, large = getattr(section, low), getattr(section, high)
    if small > large or (small == large and not equal):
        relation = "at most" if equal else "smaller than"
        msg = f"{prefix}{low} ({small}) must be {relation} {prefix}{high} ({large})"
        raise ValueError(msg)


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a server's key (empty, blank, short), or None; never repeats it."""
    if not key.strip():
        return "a key is empty or blank (an unset variable?)"
    if key != key.strip():
        return "a key starts or ends with spaces (a client's key never does)"
    if len(key) < MIN_KEY_LENGTH:
        return f"a key is shorter than {MIN_KEY_LENGTH} characters"
    return None


def checked_key(value: SecretStr | None) -> SecretStr | None:
    """``value``, refused when it is a key no server should accept (:func:`key_problem`).

    Raises:
        ValueError: The key is empty, blank or short, and what to use instead.

    """
    if value is None:
        return None
    problem = key_problem(value.get_secret_value())
    if problem is not None:
        msg = (
            f"{problem}; use {MIN_KEY_LENGTH} or more random characters (bllossom-rag keys "
            "create makes such keys), or leave the setting unset"
        )
        raise ValueError(msg)
    return value


class IndexSettings(Section):
    """How a collection's dense index is built and searched (:class:`rag.store.IndexPolicy`)."""

    exact_max: int = Field(
        default=50_000, ge=0, description="Chunks up to which a collection is searched exactly."
    )
    large_kind: Literal["ivf-flat", "ivf-pq", "hnsw"] = Field(
        default="ivf-flat", description="Approximate FAISS index above exact_max."
    )
    nprobe: int = Field(default=32, ge=1, description="IVF lists visited per query.")
    ef_search: int = Field(
        default=128,
        ge=1,
        le=1000,
        description="HNSW search breadth (FAISS hnsw, and pgvector on a PostgreSQL store): "
        "higher finds more true neighbours in large collections, slower.",
    )


class StoreSettings(Section):
    """Where documents, chunks and vectors are kept."""

    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host/db: the store in PostgreSQL + pgvector, "
        "shared by every instance (data_dir then holds only caches); unset: embedded in data_dir.",
    )
    pool_size: int = Field(
        default=8, ge=2, le=100, description="Connections each process keeps to the store's url."
    )
    index: IndexSettings = Field(default_factory=IndexSettings)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Only PostgreSQL URLs (the message never repeats the URL: it holds a password)."""
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            msg = "must be a postgresql://user:password@host/database URL, or unset"
            raise ValueError(msg)
        return value or None


class EmbeddingSettings(Section):
    """The embedder: which model, what runs it, and an embedding server if it runs elsewhere."""

    model: str = Field(
        default="BAAI/bge-m3", description="sentence-transformers embedder (hub name or folder)."
    )
    backend: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="What runs the embedder: torch, onnx (ONNX Runtime, CPU), or auto (onnx "
        "on the CPU when onnxruntime is installed and the model can be exported, else torch).",
    )
    quantize: bool = Field(
        default=False,
        description="With the onnx backend, use int8 weights (dynamic quantization): faster, "
        "but up to .013 recall@5 lower than fp32, which ranks exactly as torch does.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Where ONNX exports are cached; unset: $XDG_CACHE_HOME/bllossom-rag.",
    )
    batch_size: int = Field(default=32, ge=1, description="Texts embedded in one call.")
    url: str | None = Field(
        default=None,
        description="Base URL (ending in /v1) of an embedding server: TEI, vLLM, Infinity or "
        "bllossom-rag serve --embedding-model; model names the model it serves. Unset: the "
        "embedder runs in this process.",
    )
    api_key: SecretStr | None = Field(default=None, description="Bearer key for url.")
    query_prompt: str | None = Field(
        default=None,
        description="Prefix for queries sent to url (e5: 'query: '); unset: the model folder's "
        "sentence-transformers prompt, else none.",
    )
    passage_prompt: str | None = Field(
        default=None,
        description="Prefix for passages sent to url (e5: 'passage: '); unset: as above.",
    )
    timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds per request to url (then retried)."
    )

    @field_validator("cache_dir")
    @classmethod
    def _absolute_folder(cls, value: Path | None) -> Path | None:
        """Absolute from the start, like ``data_dir``."""
        return value.expanduser().absolute() if value is not None else None


class GenerationSettings(Section):
    """The generator: which model, how it samples, what a prompt may hold, where it runs."""

    model: str = Field(
        default="Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
        description="LLaVA-NeXT generator (hub name or folder).",
    )
    max_new_tokens: int = Field(default=512, ge=1, description="Longest answer, in tokens.")
    temperature: float = Field(default=0.6, ge=0.0, description="Sampling temperature (0: greedy).")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0, description="Nucleus sampling's top_p.")
    max_images: int = Field(
        default=2, ge=0, le=16, description="Image slots per prompt; the user's images first."
    )
    max_retrieved_images: int = Field(
        default=1, ge=0, le=16, description="Retrieved images shown as images (others by caption)."
    )
    prompt_token_budget: int = Field(
        default=8192,
        ge=256,
        description="Prompt tokens (images expanded); over it, images become captions, "
        "then passages are trimmed.",
    )
    worker_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL of the GPU worker or vLLM; unset: the generator "
        "runs in this process.",
    )
    worker_api_key: SecretStr | None = Field(default=None, description="Bearer key for worker_url.")
    scripted_answer: str | None = Field(
        default=None,
        description="Answer with this template instead of a model, for tests and demos: "
        "'{1} [1]' quotes the first sentence of passage 1 and cites it ({question}: the "
        "question). Unset: the generator answers.",
    )
    check_support: bool = Field(
        default=True,
        description="After an answer, check each sentence that cites [n] against passage n "
        "(rag.generation.support) and mark the ones it does not support. Needs an embedder "
        "with a support model (multilingual-e5-small has one); others are not checked.",
    )

    @field_validator("worker_api_key")
    @classmethod
    def _real_key(cls, value: SecretStr | None) -> SecretStr | None:
        return checked_key(value)

    @model_validator(mode="after")
    def _images_fit(self) -> GenerationSettings:
        check_order(self, "max_retrieved_images", "max_images", equal=True, prefix="generation.")
        return self


class OcrSettings(Section):
    """Reading scans and screenshots with Tesseract."""

    mode: Literal["auto", "off", "always"] = Field(
        default="auto",
        description="auto (image files, PDF pages without text), always (every PDF page too), off.",
    )
    languages: str = Field(
        default="kor+eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$", description="Tesseract languages."
    )
    dpi: int = Field(
        default=200, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR."
    )
    timeout_s: float = Field(
        default=30.0, gt=0, description="OCR limit per page or image; past it the page is skipped."
    )
    max_pages: int = Field(
        default=100, ge=0, description="Pages of one PDF read by OCR; later pages are skipped."
    )
    file_budget_s: float = Field(
        default=300.0,
        gt=0,
        description="Wall-clock seconds OCR may spend on one file; later pages are skipped.",
    )
    batch_budget_s: float = Field(
        default=1800.0,
        gt=0,
        description="Seconds OCR may spend in one ingest (a command or an upload), all files "
        "together.",
    )
    tessdata: str = Field(
        default="",
        description="Tesseract language-data folder; empty: $TESSDATA_PREFIX or the usual places.",
    )


class IngestSettings(Section):
    """How files become chunks, and the limits one file is held to."""

    chunk_tokens: int = Field(default=256, ge=16, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(default=32, ge=0, description="Overlap between chunks, tokens.")
    chunk_structure: bool = Field(
        default=True,
        description="Cut chunks at headings, articles and clauses, each with its heading path; "
        "false packs plain sentences.",
    )
    batch_chunks: int = Field(
        default=256, ge=1, description="New chunks per embedding call and store commit."
    )
    caption_images: bool = Field(
        default=False,
        description="Ask the generator for a Korean and an English caption of every image.",
    )
    max_file_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Per-file size cap, bytes."
    )
    max_chunks_per_file: int = Field(
        default=5_000, ge=1, description="A file making more chunks fails before any is embedded."
    )
    max_images_per_file: int = Field(
        default=100, ge=0, description="Images kept from one PDF, DOCX or web page."
    )
    max_image_pixels_per_file: int = Field(
        default=500_000_000,
        ge=1,
        description="Decoded pixels of the embedded images of one file; later images are skipped.",
    )
    max_units_per_file: int = Field(
        default=1_000_000,
        ge=1,
        description="Structural units one file may hold (XML elements, rows and cells, HTML "
        "elements, lines); a file with more fails while it is read.",
    )
    parser_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Wall-clock limit for parsing one file (in an isolated worker process).",
    )
    parser_memory_mb: int = Field(
        default=2_048,
        ge=64,
        description="Memory one parser worker may allocate beyond the parsers' code, MB.",
    )
    ocr: OcrSettings = Field(default_factory=OcrSettings)

    @model_validator(mode="after")
    def _overlap_fits(self) -> IngestSettings:
        check_order(self, "chunk_overlap", "chunk_tokens", equal=False, prefix="ingest.")
        return self


class FusionSettings(Section):
    """How hybrid retrieval fuses dense and BM25 scores (:class:`~rag.retrieval.fusion.Fusion`)."""

    method: Literal["convex", "rrf"] = Field(
        default="convex", description="Normalized-score combination, or reciprocal-rank fusion."
    )
    keyword_weight: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Weight of BM25 in the fusion (0..1)."
    )
    adaptive: bool = Field(
        default=True, description="Scale the BM25 weight by the query's keyword evidence."
    )
    evidence_floor: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Keyword evidence below which BM25 gets 0."
    )
    evidence_full: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Keyword evidence from which BM25 gets its weight."
    )

    @model_validator(mode="after")
    def _ramp_rises(self) -> FusionSettings:
        check_order(self, "evidence_floor", "evidence_full", equal=True, prefix="retrieval.fusion.")
        return self


class RetrievalSettings(Section):
    """Which passages a question gets."""

    top_k: int = Field(default=5, ge=1, le=100, description="Passages put into the prompt.")
    mode: Literal["dense", "bm25", "hybrid"] = Field(
        default="hybrid", description="dense (FAISS), bm25 (Kiwi morphemes) or hybrid (fused)."
    )
    candidates: int = Field(
        default=50, ge=1, le=1000, description="Results taken from each search before fusion."
    )
    min_relevance: float = Field(
        default=0.05,  # chosen on dev by benchmarks/calibrate.py (docs/benchmarks.md)
        ge=0.0,
        le=1.0,
        description="Results with a lower calibrated relevance are dropped (0: keep all).",
    )
    relevance_floor: Literal["adaptive", "fixed"] = Field(
        default="adaptive",
        description="adaptive: per collection, lower min_relevance to what still refuses 90% of "
        "a cohort of off-topic questions; fixed: min_relevance everywhere.",
    )
    reranker_model: str | None = Field(
        default=None,
        description="Cross-encoder (hub name or folder), e.g. BAAI/bge-reranker-v2-m3; unset: off.",
    )
    rerank_top_n: int = Field(default=20, ge=1, le=200, description="Fused results reranked.")
    fusion: FusionSettings = Field(default_factory=FusionSettings)


class ConversationSettings(Section):
    """A question and its conversation: what one may hold, and how a follow-up is searched.

    The limits bound what one question costs before any work is done (tokenizing, embedding,
    searching and prompting all grow with the text): the RAG API refuses a request over one
    with a 400 naming it, the command line and the web app refuse a longer question, and an
    interactive conversation carries only its latest turns.
    """

    max_question_chars: int = Field(
        default=4_000, ge=1, description="Characters in one question (longer: refused)."
    )
    max_turn_chars: int = Field(
        default=16_000,
        ge=1,
        description="Characters in one earlier turn of a conversation, question or answer "
        "(the RAG API refuses longer ones; the CLI and web app carry them cut).",
    )
    max_turns: int = Field(
        default=50,
        ge=1,
        description="Messages in one conversation, the question included (the RAG API refuses "
        "more; the CLI and web app carry the latest ones).",
    )
    query_rewrite: Literal["off", "mix", "llm"] = Field(
        default="mix",
        description="mix: search the follow-up with the earlier user turns, weighted; "
        "llm: the generator rewrites it into a standalone question; off: the follow-up alone.",
    )
    history_decay: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Weight of an earlier turn relative to the next."
    )
    history_turns: int = Field(
        default=3, ge=0, le=20, description="Earlier user turns a follow-up is searched with."
    )
    topic_changes: bool = Field(
        default=True,
        description="A turn that does not refer back to the conversation and finds nothing "
        "searched alone gets no passages (the honest 'not in the documents').",
    )

    @model_validator(mode="after")
    def _question_fits_a_turn(self) -> ConversationSettings:
        # An answered question becomes an earlier turn of the next one.
        check_order(
            self, "max_question_chars", "max_turn_chars", equal=True, prefix="conversation."
        )
        return self


class WorkerSettings(Section):
    """``bllossom-rag serve``: the GPU worker's address, key and optional embedding model."""

    host: str = Field(default="127.0.0.1", description="Interface the worker listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Worker port.")
    api_key: SecretStr | None = Field(
        default=None,
        description="Bearer key (16 or more characters) the worker requires on every route but "
        "/health.",
    )
    embedding_model: str | None = Field(
        default=None,
        description="Also serve /v1/embeddings with this sentence-transformers model.",
    )

    @field_validator("api_key")
    @classmethod
    def _real_key(cls, value: SecretStr | None) -> SecretStr | None:
        return checked_key(value)


class ServerSettings(Section):
    """What one request may cost the worker or the RAG API (both hold requests to these)."""

    max_queue: int = Field(
        default=16, ge=0, description="Requests that may wait for a slot; more get 429 at once."
    )
    max_concurrency: int = Field(
        default=2, ge=1, description="Generations running at the same time."
    )
    timeout: float = Field(
        default=300.0, gt=0, description="Seconds per request, queue wait included."
    )
    max_images: int = Field(default=4, ge=0, description="Images in one request.")
    max_prompt_tokens: int = Field(
        default=16384, ge=256, description="Prompt tokens in one request, images expanded."
    )
    max_body_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest request body (413 above)."
    )
    max_new_tokens: int = Field(
        default=4096, ge=1, description="Largest max_tokens a request may ask for (400 above)."
    )
    max_messages: int = Field(
        default=128, ge=1, description="Messages in one chat request (400 above)."
    )
    max_message_chars: int = Field(
        default=65_536,
        ge=1_024,
        description="Characters of text in one message of a chat request (400 above): a "
        "prompt's user turn holds its passages, so keep it above 8 x the prompt budget.",
    )
    max_embedding_inputs: int = Field(
        default=512, ge=1, description="Texts in one /v1/embeddings request (400 above)."
    )
    max_embedding_input_chars: int = Field(
        default=32_768,
        ge=1,
        description="Characters in one text of a /v1/embeddings request (400 above).",
    )
    max_embedding_chars: int = Field(
        default=1_048_576,
        ge=1,
        description="Characters in all the texts of one /v1/embeddings request (400 above).",
    )
    read_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a client has to send a request's headers, and then its body.",
    )


class ApiSettings(Section):
    """``bllossom-rag api``: the RAG API's address and keys."""

    host: str = Field(default="127.0.0.1", description="Interface the RAG API listens on.")
    port: int = Field(default=8100, ge=0, le=65535, description="RAG API port.")
    keys: dict[str, list[str]] = Field(
        default_factory=dict,
        repr=False,
        description="API key (16 or more characters) -> the groups it may read (JSON in "
        "BLLOSSOM_RAG_API__KEYS); empty: no key needed, unrestricted documents only.",
    )

    slots_per_key: int = Field(
        default=0,
        ge=0,
        description="Requests one key may have running at once (its others wait), so one key "
        "cannot take every slot of server.max_concurrency; 0: all but one (at least one).",
    )

    @field_validator("keys")
    @classmethod
    def _real_keys(cls, keys: dict[str, list[str]]) -> dict[str, list[str]]:
        for key in keys:
            checked_key(SecretStr(key))
        return keys


class CliSettings(Section):
    """``ask`` and ``chat``: answered by a running RAG API instead of loading the models."""

    api_url: str | None = Field(
        default=None,
        description="A RAG API (http://host:8100) that answers ask and chat; the terminal "
        "loads no model.",
    )
    api_key: SecretStr | None = Field(
        default=None, repr=False, description="Bearer key for api_url (or the API found)."
    )
    find_api: bool = Field(
        default=True,
        description="Without api_url: use a ready RAG API on this machine at [api] port "
        "that serves this same store.",
    )


class AccessRuleSettings(Section):
    """One access rule (``[[access.rules]]``): documents under ``path`` are read by ``groups``."""

    path: str = Field(
        min_length=1,
        description="Glob relative to the ingested folder (``인사/**``); ``/...``: absolute.",
    )
    groups: list[str] = Field(
        description="Groups that may read the documents it matches ([]: everyone)."
    )


class AccessSettings(Section):
    """Who may read what: rules by path, and who administers access."""

    rules: list[AccessRuleSettings] = Field(
        default_factory=list,
        description="[[access.rules]] tables, in order; the first matching rule gives a "
        "document its groups unless the document's groups were set explicitly (--groups, "
        "docs access).",
    )
    admin_group: str = Field(
        default="admin", min_length=1, description="Members see the web app's admin page."
    )


class AuditSettings(Section):
    """The audit trail: who was shown which documents."""

    questions: Literal["store", "hash", "none"] = Field(
        default="store",
        description="What the trail keeps of each question: the text, only its SHA-256, or "
        "nothing.",
    )
    retention_days: float = Field(
        default=90.0, ge=0, description="Entries older than this are deleted (0: kept forever)."
    )


class UiSettings(Section):
    """``bllossom-rag ui``: sign-in, people's groups, uploads, language."""

    auth: bool = Field(
        default=False,
        description="Require OIDC sign-in (st.login; provider in .streamlit/secrets.toml [auth]).",
    )
    auth_provider: str | None = Field(
        default=None, description="Provider name under [auth.<name>] when several are configured."
    )
    user_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Signed-in person (verified email, or subject) -> groups they may read, "
        "added to those of groups_claim.",
    )
    groups_claim: str | None = Field(
        default=None,
        description="The identity provider's claim that lists a person's groups (e.g. "
        "'groups'); unset: groups come from user_groups only.",
    )
    allowed_users: list[str] = Field(
        default_factory=list,
        description="With auth on: subjects or verified emails let in.",
    )
    allowed_domains: list[str] = Field(
        default_factory=list,
        description="With auth on: verified email domains let in (e.g. 'example.co.kr').",
    )
    allow_anyone: bool = Field(
        default=False,
        description="With auth on: let in everyone the provider signs in (only for a "
        "provider of the organisation's own people). Otherwise nobody outside "
        "allowed_users and allowed_domains gets in.",
    )
    local_groups: list[str] = Field(
        default_factory=list, description="Groups of the single local user when auth is off."
    )
    max_upload_mb: int = Field(
        default=50, ge=1, description="Largest upload, MB (Streamlit's maxUploadSize)."
    )
    language: Literal["auto", "ko", "en"] = Field(
        default="auto", description="UI language; 'auto' follows the browser."
    )
