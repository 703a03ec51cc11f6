"""All configuration in one place.

Every command, the worker and the UI read one :class:`Settings` object. Values come, highest
priority first, from explicit arguments, environment variables ``BLLOSSOM_RAG_<FIELD>``, and a TOML
file (``bllossom-rag.toml`` in the working directory, or the file named by
``BLLOSSOM_RAG_CONFIG``). Model settings take a hub name or a local folder; nothing is loaded or
downloaded here, so importing this module stays cheap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from rag.errors import ConfigError

ENV_PREFIX = "BLLOSSOM_RAG_"
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"
DEFAULT_CONFIG_FILE = "bllossom-rag.toml"
DEFAULT_COLLECTION = "default"


class Settings(BaseSettings):
    """Configuration shared by the CLI, the worker and the UI."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Where things live.
    data_dir: Path = Field(
        default=Path(".bllossom-rag"), description="Store folder: SQLite, FAISS views, images."
    )
    collection: str = Field(default=DEFAULT_COLLECTION, description="Default collection name.")

    # Models: a hub name or a local folder.
    embedding_model: str = Field(
        default="BAAI/bge-m3", description="sentence-transformers embedder (hub name or folder)."
    )
    generator_model: str = Field(
        default="Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
        description="LLaVA-NeXT generator (hub name or folder).",
    )
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'.")

    # Remote generation (the GPU worker or vLLM); when unset, generation runs in-process.
    worker_url: str | None = Field(default=None, description="OpenAI-compatible base URL.")
    worker_api_key: SecretStr | None = Field(default=None, description="Bearer key for the worker.")

    # Ingestion.
    chunk_tokens: int = Field(default=256, ge=16, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(default=32, ge=0, description="Overlap between chunks, tokens.")
    embedding_batch_size: int = Field(default=32, ge=1)
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1, description="Per-file size cap.")
    max_chunks_per_file: int = Field(
        default=5_000, ge=1, description="A file making more chunks fails before any is embedded."
    )
    max_image_pixels: int = Field(
        default=50_000_000, ge=1, description="Larger images are refused before decoding."
    )
    max_images_per_file: int = Field(
        default=100, ge=0, description="Images kept from one PDF, DOCX or web page."
    )
    pdf_timeout_s: float = Field(
        default=60.0, gt=0, description="Wall-clock limit for parsing one PDF (child process)."
    )
    pdf_memory_mb: int = Field(
        default=2_048, ge=64, description="Memory limit of the PDF parser's child process."
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

    # Conversations: how a follow-up question is searched (see rag.followup).
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
        named = os.environ.get(CONFIG_FILE_ENV)
        toml_file = Path(named or DEFAULT_CONFIG_FILE)
        if named and not toml_file.is_file():
            msg = f"{CONFIG_FILE_ENV} names {named!r}, which is not a file"
            raise ConfigError(msg)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings() -> Settings:
    """Settings from the environment and TOML; a validation failure becomes one line.

    Raises:
        ConfigError: A setting is invalid (the message names the field).

    """
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        msg = f"invalid setting {field}: {first['msg']}"
        raise ConfigError(msg) from None
    except SettingsError as error:  # a list or table setting whose environment value is not JSON
        named = re.search(r'field "(\w+)"', str(error))
        field = named.group(1) if named else "?"
        msg = (
            f"invalid setting {field}: {ENV_PREFIX}{field.upper()} must be JSON "
            '(e.g. \'["a", "b"]\' or \'{"key": ["group"]}\')'
        )
        raise ConfigError(msg) from None
