"""The slice of the OpenAI Chat Completions API the worker speaks, and its error shape.

Requests are validated by pydantic models that accept what the official clients send (unknown
fields are ignored, as OpenAI-compatible servers do) and refuse what the worker cannot honour
(``n > 1``, tools, image URLs that are not ``data:`` URLs) with a 400 that names the field, in
OpenAI's error shape ``{"error": {"message", "type", "param", "code"}}`` so clients surface it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Annotated, Any, Literal, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import JSONResponse

from rag.images import ImageDecodeError, data_url_payload

# A chat request nests about 6 deep (body, messages, a message, content, a part, image_url).
MAX_JSON_DEPTH = 32
Parsed = TypeVar("Parsed", bound=BaseModel)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestError(Exception):
    """A request the worker refuses, with the HTTP status and OpenAI error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code
        self.headers = headers

    def response(self) -> JSONResponse:
        """The error as an OpenAI-style JSON response."""
        return JSONResponse(self.payload(), status_code=self.status, headers=self.headers)

    def payload(self) -> dict[str, Any]:
        """OpenAI's error body (also sent as an SSE event once a stream has started)."""
        error = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        return {"error": error}


class RequestModel(BaseModel):
    """A request body: unknown fields are ignored, as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="ignore")


class TextPart(RequestModel):
    """``{"type": "text", "text": ...}``."""

    type: Literal["text"]
    text: str


class ImageURL(RequestModel):
    """``{"url": "data:image/...;base64,...", "detail": ...}``."""

    url: str
    detail: str | None = None

    @field_validator("url")
    @classmethod
    def _data_url_only(cls, url: str) -> str:
        try:
            data_url_payload(url)  # the shape only: the image is decoded once, when encoding
        except ImageDecodeError as error:
            raise ValueError(str(error)) from None
        return url


class ImagePart(RequestModel):
    """``{"type": "image_url", "image_url": {...}}``."""

    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(RequestModel):
    """One message; ``developer`` is treated as ``system``."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]

    @field_validator("content", mode="before")
    @classmethod
    def _string_or_parts(cls, content: Any) -> Any:
        if not isinstance(content, str | list):
            msg = "must be a string or a list of content parts"
            raise ValueError(msg)
        return content

    def text_length(self) -> int:
        """Characters of text (images not counted)."""
        if isinstance(self.content, str):
            return len(self.content)
        return sum(len(part.text) for part in self.content if isinstance(part, TextPart))


class StreamOptions(RequestModel):
    """``{"include_usage": true}`` adds a final usage chunk to a stream."""

    include_usage: bool = False


class ChatCompletionRequest(RequestModel):
    """The fields of ``POST /v1/chat/completions`` the worker uses."""

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    n: int = 1
    tools: list[Any] | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            msg = "only n=1 is supported (one choice per request)"
            raise ValueError(msg)
        return n

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > 4:
            msg = "at most 4 stop strings"
            raise ValueError(msg)
        return stop

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            msg = "tools are not supported by this worker"
            raise ValueError(msg)
        return tools

    @property
    def stops(self) -> list[str]:
        """``stop`` as a list."""
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def text_length(self) -> int:
        """Characters of text across all messages (images not counted)."""
        return sum(message.text_length() for message in self.messages)

    def max_new_tokens(self) -> tuple[str, int] | None:
        """The length limit asked for and the field that asked (``max_completion_tokens`` wins)."""
        if self.max_completion_tokens is not None:
            return "max_completion_tokens", self.max_completion_tokens
        if self.max_tokens is not None:
            return "max_tokens", self.max_tokens
        return None

    def image_count(self) -> int:
        """Image parts across all messages."""
        return sum(
            isinstance(part, ImagePart)
            for message in self.messages
            if not isinstance(message.content, str)
            for part in message.content
        )

    def to_langchain(self) -> list[BaseMessage]:
        """The messages as LangChain messages, parts kept as OpenAI-style content blocks."""
        converted: list[BaseMessage] = []
        for message in self.messages:
            content: Any = (
                message.content
                if isinstance(message.content, str)
                else [part.model_dump(exclude_none=True) for part in message.content]
            )
            if message.role in ("system", "developer"):
                converted.append(SystemMessage(content=content))
            elif message.role == "user":
                converted.append(HumanMessage(content=content))
            else:
                converted.append(AIMessage(content=content))
        return converted


def parse_request(body: bytes) -> ChatCompletionRequest:
    """Validate a chat request body.

    Raises:
        RequestError: 400 with the first problem, its field path in ``param``.

    """
    return parse_body(body, ChatCompletionRequest)


def parse_body(body: bytes, model: type[Parsed]) -> Parsed:
    """Validate a JSON request body as ``model`` (the RAG API's requests use it too).

    Raises:
        RequestError: 400 with the first problem, its field path in ``param``.

    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        msg = f"request body is not valid JSON ({error})"
        raise RequestError(400, msg) from None
    except RecursionError:  # the decoder recurses once per level
        raise _too_deep() from None
    if not isinstance(data, dict):
        msg = "request body must be a JSON object"
        raise RequestError(400, msg)
    _check_values(data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        # A union reports one error per branch; the deepest is the one about what was sent.
        first = max(error.errors(include_url=False), key=lambda e: len(_clean_loc(e["loc"])))
        param = _param(_clean_loc(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise RequestError(400, f"{param}: {message}", param=param) from None


def _check_values(data: dict[str, Any]) -> None:
    r"""Refuse what JSON allows but nothing downstream can take: deep nesting, lone surrogates.

    JSON's ``\ud800`` escapes can spell a UTF-16 surrogate with no partner, which is not a
    character: Python keeps it in a ``str``, and the tokenizer (or any UTF-8 encoder) fails on
    it far from here. The walk is iterative, so nesting cannot exhaust the stack.
    """
    pending: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while pending:
        value, loc = pending.pop()
        if len(loc) > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, str):
            if (surrogate := _LONE_SURROGATE.search(value)) is not None:
                param = _param(loc)
                msg = (
                    f"{param}: contains a lone surrogate (U+{ord(surrogate.group()):04X}), "
                    "which is not valid Unicode; send text as UTF-8"
                )
                raise RequestError(400, msg, param=param)
        elif isinstance(value, dict):
            pending.extend((item, (*loc, key)) for key, item in value.items())
            pending.extend((key, (*loc, key)) for key in value)
        elif isinstance(value, list):
            pending.extend((item, (*loc, index)) for index, item in enumerate(value))


def _too_deep() -> RequestError:
    msg = f"request body is nested more than {MAX_JSON_DEPTH} levels deep"
    return RequestError(400, msg)


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic error location without union-branch names and discriminator tags."""
    cleaned: list[int | str] = []
    for index, part in enumerate(loc):
        if isinstance(part, str) and ("[" in part or part == "str"):
            continue  # "list[tagged-union[...]]", "str": which union branch was tried
        after_index = index > 0 and isinstance(loc[index - 1], int)
        if after_index and part in ("text", "image_url"):
            continue  # the discriminator tag right after a content part's index
        cleaned.append(part)
    return tuple(cleaned)


def _param(loc: tuple[int | str, ...]) -> str:
    """``("messages", 0, "content", 1, "image_url", "url")`` -> ``messages[0].content[1]...``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


class CompletionIds:
    """The id, creation time and model name shared by one completion's responses."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def chunk(
        self,
        delta: dict[str, Any],
        finish_reason: str | None = None,
    ) -> dict[str, Any]:
        """A ``chat.completion.chunk`` with one choice."""
        return {
            **self._head("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        """The final chunk of a stream with ``include_usage``: no choices, the usage."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage}

    def completion(self, text: str, finish_reason: str, usage: dict[str, int]) -> dict[str, Any]:
        """A whole ``chat.completion``."""
        return {
            **self._head("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}
