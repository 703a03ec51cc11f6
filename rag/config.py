"""All configuration in one place.

Every command, the worker and the UI read one :class:`Settings` object. Values come, highest
priority first, from explicit arguments, environment variables ``BLLOSSOM_RAG_<FIELD>``, and a TOML
file (``bllossom-rag.toml`` in the working directory, or the file named by
``BLLOSSOM_RAG_CONFIG``). Model settings take a hub name or a local folder; nothing is loaded or
downloaded here, so importing this module stays cheap.

Strict by design: an unknown key in the file or an unknown ``BLLOSSOM_RAG_*`` variable is an
error (with the close match), not silently ignored, because a typo such as ``top-k = 7`` would
otherwise leave the default in force with nothing to say so. Relative paths in the file resolve
against the file's folder, so a configuration means the same thing from any working directory.
Every failure is one :class:`ConfigError` line naming the setting and where its value came from.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from rag.errors import ConfigError
from rag.images import DEFAULT_MAX_IMAGE_PIXELS
from rag.runtime.models import check_device_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "BLLOSSOM_RAG_"
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "bllossom-rag.toml"
DEFAULT_COLLECTION = "default"
# Variables in the prefix that are not settings: the configuration file itself, and two that
# only the test suite and the benchmarks read (the shared datasets folder, the browser binary).
NOT_SETTINGS = frozenset({CONFIG_FILE_ENV, f"{ENV_PREFIX}SHARED", f"{ENV_PREFIX}CHROMIUM"})
# Settings holding a folder, and model settings that may (a hub name may not), resolved against
# the configuration file's folder when given there as relative paths.
_FOLDER_SETTINGS = ("data_dir", "embedding_cache_dir")
_MODEL_SETTINGS = ("embedding_model", "generator_model", "reranker_model")


class Settings(BaseSettings):
    """Configuration shared by the CLI, the worker and the UI."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # Where things live.
    data_dir: Path = Field(
        default=Path(".bllossom-rag"), description="Store folder: SQLite, FAISS views, images."
    )
    collection: str = Field(default=DEFAULT_COLLECTION, description="Default collection name.")
    store_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host/db: the store in PostgreSQL + pgvector, "
        "shared by every instance (data_dir then holds only caches); unset: embedded in data_dir.",
    )
    store_pool_size: int = Field(
        default=8, ge=2, le=100, description="Connections each process keeps to store_url."
    )

    # Models: a hub name or a local folder.
    embedding_model: str = Field(
        default="BAAI/bge-m3", description="sentence-transformers embedder (hub name or folder)."
    )
    generator_model: str = Field(
        default="Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
        description="LLaVA-NeXT generator (hub name or folder).",
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'.")
    embedding_backend: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="What runs the embedder: torch, onnx (ONNX Runtime, CPU), or auto (onnx "
        "on the CPU when onnxruntime is installed and the model can be exported, else torch).",
    )
    embedding_quantize: bool = Field(
        default=False,
        description="With the onnx backend, use int8 weights (dynamic quantization): faster, "
        "but up to .013 recall@5 lower than fp32, which ranks exactly as torch does.",
    )
    embedding_cache_dir: Path | None = Field(
        default=None,
        description="Where ONNX exports are cached; unset: $XDG_CACHE_HOME/bllossom-rag.",
    )

    # Remote embedding (an OpenAI-compatible /v1/embeddings); when unset, embedding runs here.
    embedding_url: str | None = Field(
        default=None,
        description="Base URL (ending in /v1) of an embedding server: TEI, vLLM, Infinity or "
        "bllossom-rag serve --embedding-model; embedding_model names the model it serves.",
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for embedding_url."
    )
    embedding_query_prompt: str | None = Field(
        default=None,
        description="Prefix for queries sent to embedding_url (e5: 'query: '); unset: the "
        "model folder's sentence-transformers prompt, else none.",
    )
    embedding_passage_prompt: str | None = Field(
        default=None,
        description="Prefix for passages sent to embedding_url (e5: 'passage: '); unset: as above.",
    )
    embedding_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds per request to embedding_url (then retried)."
    )

    # Remote generation (the GPU worker or vLLM); when unset, generation runs in-process.
    worker_url: str | None = Field(default=None, description="OpenAI-compatible base URL.")
    worker_api_key: SecretStr | None = Field(default=None, description="Bearer key for the worker.")

    # Ingestion.
    chunk_tokens: int = Field(default=256, ge=16, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(default=32, ge=0, description="Overlap between chunks, tokens.")
    chunk_structure: bool = Field(
        default=True,
        description="Cut chunks at headings, articles and clauses, each starting with its "
        "heading path; false packs plain sentences.",
    )
    embedding_batch_size: int = Field(default=32, ge=1)
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Per-file size cap.")
    max_chunks_per_file: int = Field(
        default=5_000, ge=1, description="A file making more chunks fails before any is embedded."
    )
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS,
        ge=1,
        description="Larger images are refused before decoding.",
    )
    max_images_per_file: int = Field(
        default=100, ge=0, description="Images kept from one PDF, DOCX or web page."
    )
    max_image_pixels_per_file: int = Field(
        default=500_000_000,
        ge=1,
        description="Decoded pixels of the embedded images of one file; later images are skipped.",
    )
    pdf_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Wall-clock limit for parsing one PDF, HWP or HWPX file (child process).",
    )
    pdf_memory_mb: int = Field(
        default=2_048, ge=64, description="Memory limit of the parsers' child process."
    )
    ocr: Literal["auto", "off", "always"] = Field(
        default="auto",
        description="Tesseract OCR: auto (image files, PDF pages without text), always "
        "(every PDF page too), off.",
    )
    ocr_languages: str = Field(
        default="kor+eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$", description="Tesseract languages."
    )
    ocr_dpi: int = Field(
        default=200, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR."
    )
    ocr_timeout_s: float = Field(
        default=30.0, gt=0, description="OCR limit per page or image; past it the page is skipped."
    )
    ocr_max_pages: int = Field(
        default=100, ge=0, description="Pages of one PDF read by OCR; later pages are skipped."
    )
    ocr_tessdata: str = Field(
        default="",
        description="Tesseract language-data folder; empty: $TESSDATA_PREFIX or the usual places.",
    )
    caption_images: bool = Field(
        default=False,
        description="Ask the generator for a Korean and an English caption of every image.",
    )
    ingest_batch_chunks: int = Field(
        default=256, ge=1, description="New chunks per embedding call and store commit."
    )

    # Retrieval.
    top_k: int = Field(default=5, ge=1, le=100, description="Passages put into the prompt.")
    retrieval_mode: Literal["dense", "bm25", "hybrid"] = Field(
        default="hybrid", description="dense (FAISS), bm25 (Kiwi morphemes) or hybrid (fused)."
    )
    fusion_method: Literal["convex", "rrf"] = Field(
        default="convex", description="Hybrid fusion: normalized-score combination or RRF."
    )
    fusion_keyword_weight: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Weight of BM25 in hybrid fusion (0..1)."
    )
    fusion_adaptive: bool = Field(
        default=True, description="Scale the BM25 weight by the query's keyword evidence."
    )
    fusion_evidence_floor: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Keyword evidence below which BM25 gets 0."
    )
    fusion_evidence_full: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Keyword evidence from which BM25 gets its weight."
    )
    min_relevance: float = Field(
        default=0.05,  # chosen on dev by benchmarks/calibrate.py (benchmarks/README.md)
        ge=0.0,
        le=1.0,
        description="Results with a lower calibrated relevance are dropped (0: keep all).",
    )
    relevance_floor: Literal["adaptive", "fixed"] = Field(
        default="adaptive",
        description=(
            "adaptive: per collection, lower min_relevance to what still refuses 90% of a "
            "cohort of off-topic questions; fixed: min_relevance everywhere."
        ),
    )
    retrieval_candidates: int = Field(
        default=50, ge=1, le=1000, description="Results taken from each search before fusion."
    )
    reranker_model: str | None = Field(
        default=None,
        description="Cross-encoder (hub name or folder), e.g. BAAI/bge-reranker-v2-m3; unset: off.",
    )
    rerank_top_n: int = Field(default=20, ge=1, le=200, description="Fused results reranked.")
    index_exact_max: int = Field(
        default=50_000, ge=0, description="Chunks up to which a collection is searched exactly."
    )
    index_large_kind: Literal["ivf-flat", "ivf-pq", "hnsw"] = Field(
        default="ivf-flat", description="Approximate FAISS index above index_exact_max."
    )
    index_nprobe: int = Field(default=32, ge=1, description="IVF lists visited per query.")
    index_ef_search: int = Field(
        default=128,
        ge=1,
        le=1000,
        description="HNSW search breadth (FAISS hnsw, and pgvector on a PostgreSQL store): "
        "higher finds more true neighbours in large collections, slower.",
    )

    # Conversations: how a follow-up question is searched (see rag.retrieval.followup).
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

    # Generation.
    max_new_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.6, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
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

    # Worker (`bllossom-rag serve`): defaults for the command's options.
    serve_host: str = Field(default="127.0.0.1", description="Interface the worker listens on.")
    serve_port: int = Field(default=8000, ge=0, le=65535, description="Worker port.")
    serve_api_key: SecretStr | None = Field(
        default=None, description="Bearer key the worker requires on every route but /health."
    )
    serve_max_queue: int = Field(
        default=16, ge=0, description="Requests that may wait for a slot; more get 429 at once."
    )
    serve_max_concurrency: int = Field(
        default=2, ge=1, description="Generations running at the same time."
    )
    serve_timeout: float = Field(
        default=300.0, gt=0, description="Seconds per request, queue wait included."
    )
    serve_max_images: int = Field(default=4, ge=0, description="Images in one request.")
    serve_max_prompt_tokens: int = Field(
        default=16384, ge=256, description="Prompt tokens in one request, images expanded."
    )
    serve_max_body_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest request body (413 above)."
    )
    serve_max_new_tokens: int = Field(
        default=4096, ge=1, description="Largest max_tokens a request may ask for (400 above)."
    )
    serve_embedding_model: str | None = Field(
        default=None,
        description="Also serve /v1/embeddings with this sentence-transformers model.",
    )
    serve_max_embedding_inputs: int = Field(
        default=512, ge=1, description="Texts in one /v1/embeddings request (400 above)."
    )
    serve_read_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a client has to send a request's headers, and then its body.",
    )

    # RAG API (`bllossom-rag api`); its limits are the worker's serve_* ones.
    api_host: str = Field(default="127.0.0.1", description="Interface the RAG API listens on.")
    api_port: int = Field(default=8100, ge=0, le=65535, description="RAG API port.")
    api_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        repr=False,
        description="API key -> the groups it may read (JSON in BLLOSSOM_RAG_API_KEYS); "
        "empty: no key needed, unrestricted documents only.",
    )

    # UI.
    ui_auth: bool = Field(
        default=False,
        description="Require OIDC sign-in (st.login; provider in .streamlit/secrets.toml [auth]).",
    )
    ui_auth_provider: str | None = Field(
        default=None, description="Provider name under [auth.<name>] when several are configured."
    )
    ui_user_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Signed-in user (email, else subject) -> groups they may read.",
    )
    ui_local_groups: list[str] = Field(
        default_factory=list, description="Groups of the single local user when ui_auth is off."
    )
    ui_max_upload_mb: int = Field(
        default=50, ge=1, description="Largest upload in the UI, MB (Streamlit's maxUploadSize)."
    )
    ui_language: Literal["auto", "ko", "en"] = Field(
        default="auto", description="UI language; 'auto' follows the browser."
    )

    @field_validator("data_dir", "embedding_cache_dir")
    @classmethod
    def _absolute_folder(cls, value: Path | None) -> Path | None:
        """Absolute from the start, so every path derived from it (``--json`` included) is."""
        return value.expanduser().absolute() if value is not None else None

    @field_validator("store_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Only PostgreSQL URLs (the message never repeats the URL: it holds a password)."""
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            msg = "must be a postgresql://user:password@host/database URL, or unset"
            raise ValueError(msg)
        return value or None

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        """Reject a device name torch would not know (``gpu``) before anything loads."""
        return check_device_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """Rules between settings; each message names both sides and their values."""
        rules = (  # (lower, may they be equal, upper)
            ("chunk_overlap", False, "chunk_tokens"),
            ("fusion_evidence_floor", True, "fusion_evidence_full"),
            ("max_retrieved_images", True, "max_images"),
        )
        for low, equal_ok, high in rules:
            small, large = getattr(self, low), getattr(self, high)
            if small > large or (small == large and not equal_ok):
                relation = "at most" if equal_ok else "smaller than"
                msg = f"{low} ({small}) must be {relation} {high} ({large})"
                raise ValueError(msg)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments win over the environment, which wins over the TOML file."""
        check_environment(os.environ, settings_cls.model_fields)
        path = config_file()
        values = read_config_file(path, settings_cls.model_fields) if path else {}
        return init_settings, env_settings, InitSettingsSource(settings_cls, values)


def config_file() -> Path | None:
    """The TOML file in force: the one ``BLLOSSOM_RAG_CONFIG`` names, else the working folder's.

    Raises:
        ConfigError: ``BLLOSSOM_RAG_CONFIG`` names something that is not a file.

    """
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        if not Path(named).is_file():
            msg = f"{CONFIG_FILE_ENV} names {named!r}, which is not a file"
            raise ConfigError(msg)
        return Path(named)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def read_config_file(path: Path, fields: Iterable[str]) -> dict[str, Any]:
    """A configuration file's settings, keys checked and relative paths made absolute.

    Raises:
        ConfigError: The file is not valid TOML (file, line and column) or has an unknown key.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        msg = f"{path}: not valid TOML: {error}"
        raise ConfigError(msg) from None
    except OSError as error:
        msg = f"{path}: cannot read the configuration file ({error.strerror})"
        raise ConfigError(msg) from None
    known = set(fields)
    for key in data:
        if key not in known:
            msg = f"{path}: unknown setting {key!r}{_did_you_mean(key, known)}"
            raise ConfigError(msg)
    folder = path.resolve().parent
    for key in _FOLDER_SETTINGS:
        if isinstance(data.get(key), str) and not Path(data[key]).expanduser().is_absolute():
            data[key] = str(folder / data[key])
    for key in _MODEL_SETTINGS:
        value = data.get(key)
        if isinstance(value, str) and (value.startswith(".") or (folder / value).is_dir()):
            data[key] = str(folder / value)
    return data


def check_environment(environ: Mapping[str, str], fields: Iterable[str]) -> None:
    """Refuse a ``BLLOSSOM_RAG_*`` variable that names no setting (``..._TOPK``).

    Raises:
        ConfigError: The variable and its close match.

    """
    known = {f"{ENV_PREFIX}{name.upper()}" for name in fields} | NOT_SETTINGS
    for variable in environ:
        name = variable.upper()
        if name.startswith(ENV_PREFIX) and name not in known:
            msg = f"unknown environment variable {variable}{_did_you_mean(name, known)}"
            raise ConfigError(msg)


def load_settings() -> Settings:
    """Settings from the environment and TOML; a validation failure becomes one line.

    Raises:
        ConfigError: A setting is invalid (the message names it and where its value came from).

    """
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        more = len(error.errors()) - 1
        also = f" (and {more} more)" if more else ""
        if not first["loc"]:  # a rule between settings: its message names them
            msg = f"invalid settings: {first['msg'].removeprefix('Value error, ')}{also}"
            raise ConfigError(msg) from None
        field = str(first["loc"][0])
        where = _source_of(field, first.get("input"))
        msg = f"invalid setting {field} ({where}): {first['msg'].removeprefix('Value error, ')}"
        raise ConfigError(msg + also) from None
    except SettingsError as error:  # a variable holding a list or dict that is not JSON
        named = re.search(r'field "(\w+)"', str(error))
        field = named.group(1) if named else "?"
        msg = f"invalid setting {field} ({_source_of(field, None)}): not valid JSON"
        raise ConfigError(msg) from None


# Settings that are not SecretStr but hold secrets: api_keys is keyed by the keys themselves.
_SECRET_MAPPINGS = frozenset({"api_keys"})


def _source_of(field: str, value: Any) -> str:
    """Where a field's value came from, for the message: the variable, the file, or a call.

    A secret's value (a key, a URL with a password) is never repeated.
    """
    secret = field in _SECRET_MAPPINGS or (
        Settings.model_fields.get(field) is not None
        and "SecretStr" in str(Settings.model_fields[field].annotation)
    )
    variable = f"{ENV_PREFIX}{field.upper()}"
    for name, text in os.environ.items():
        if name.upper() == variable:
            return f"{name}=<hidden>" if secret else f"{name}={text!r}"
    path = config_file()
    shown = "<hidden>" if secret else repr(value)
    if path is not None:
        return f"{field} = {shown} in {path}"
    return f"{field}={shown}"


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    normalized = {candidate.lower().replace("-", "_"): candidate for candidate in known}
    close = difflib.get_close_matches(name.lower().replace("-", "_"), normalized, n=1)
    return f" (did you mean {normalized[close[0]]}?)" if close else ""
