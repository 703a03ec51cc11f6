"""``ChatBllossom``: Bllossom-Vision as a LangChain chat model, in-process, with images.

LangChain's Hugging Face chat wrappers are text-only, and the model card's own code disables the KV
cache, passes processor arguments positionally and does not stop on ``<|eot_id|>``. This wrapper
renders the card's chat format through :mod:`rag.generation.prompt` (one BOS, special tokens only
where the template puts them), tokenizes without adding special tokens again, keeps the KV cache on,
stops on ``<|eot_id|>`` as well as the config's EOS ids, and streams tokens from a generation thread
that stops as soon as the consumer does (or a cancel event is set: the GPU worker's client
disconnected). On CUDA it loads in bf16 with SDPA attention through ``device_map``; a CUDA
out-of-memory error fails only the request that hit it.

The model loads lazily on first use, so building the object (and the chain around it) is cheap.
Weights are shared per process and checkpoint: any number of ``ChatBllossom`` objects (one per
sampling setting, one per assistant) hold one copy. Generation is thread-safe: each call has its
own KV cache, so the worker can run several.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field, PrivateAttr

from rag.errors import GPUOutOfMemoryError
from rag.generation.llm.base import StreamedChatModel
from rag.generation.llm.encoding import (
    SHARED_CHECKPOINTS,
    EncodedPrompt,
    encode_prompt,
    load_processor,
)
from rag.generation.llm.stops import END_OF_TURN, StopText
from rag.images import DEFAULT_MAX_IMAGE_PIXELS
from rag.runtime.models import loading, model_reference, resolve_device

if TYPE_CHECKING:
    from rag.config import Settings


class ChatBllossom(StreamedChatModel):
    """Bllossom-Vision (or any LLaVA-NeXT checkpoint) generating in this process.

    Example:
        .. code-block:: python

            llm = ChatBllossom(model_name="Bllossom/llama-3.1-Korean-Bllossom-Vision-8B")
            for chunk in llm.stream("서울의 인구는?"):
                print(chunk.content, end="")

    """

    model_name: str = Field(description="Hub name or local folder of the checkpoint.")
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'.")
    max_new_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.6, ge=0.0, description="0 means greedy decoding.")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    max_image_pixels: int = Field(
        default=DEFAULT_MAX_IMAGE_PIXELS, ge=1, description="Larger images are refused."
    )

    _model: Any = PrivateAttr(default=None)
    _processor: Any = PrivateAttr(default=None)
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    # A fast tokenizer may refuse concurrent encodes ("Already borrowed"); encoding is cheap.
    _encode_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, model_name: str | None = None) -> ChatBllossom:
        """The generator the settings describe (``model_name`` overrides ``generation.model``)."""
        return cls(
            model_name=model_name or settings.generation.model,
            device=settings.device,
            max_new_tokens=settings.generation.max_new_tokens,
            temperature=settings.generation.temperature,
            top_p=settings.generation.top_p,
            max_image_pixels=settings.max_image_pixels,
        )

    @classmethod
    def from_loaded(cls, model: Any, processor: Any, **fields: Any) -> ChatBllossom:
        """Wrap a model and processor that are already in memory (benchmarks, notebooks)."""
        chat = cls(**fields)
        chat._model, chat._processor = model, processor
        model.generation_config.use_cache = True
        return chat

    @property
    def _llm_type(self) -> str:
        return "bllossom-vision"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }

    @property
    def processor(self) -> Any:
        """The checkpoint's processor, loading it on first use."""
        self._ensure_loaded(model=False)
        return self._processor

    @property
    def model(self) -> Any:
        """The checkpoint's ``LlavaNextForConditionalGeneration``, loading it on first use."""
        self._ensure_loaded(model=True)
        return self._model

    def _ensure_loaded(self, *, model: bool) -> None:
        with self._load_lock:
            if self._processor is None:
                self._processor = load_processor(self.model_name)
            if model and self._model is None:
                self._model = self._load_model()

    def _load_model(self) -> Any:
        reference = model_reference(self.model_name, "generator")
        with _weights_lock:  # two threads asking at once load it once
            return _shared_model(reference, resolve_device(self.device))

    def encode(
        self, messages: Sequence[BaseMessage], *, cancel: threading.Event | None = None
    ) -> EncodedPrompt:
        """Render and tokenize messages exactly as generation will see them.

        Args:
            messages: LangChain messages, images as content blocks.
            cancel: Set it from any thread to stop encoding early (see
                :func:`~rag.generation.llm.encoding.encode_prompt`).

        """
        processor = self.processor
        with self._encode_lock:
            return encode_prompt(
                processor, messages, max_pixels=self.max_image_pixels, cancel=cancel
            )

    def _generation_kwargs(self, **overrides: Any) -> dict[str, Any]:
        tokenizer = self.processor.tokenizer
        configured = self.model.generation_config.eos_token_id
        eos_ids = set(
            configured
            if isinstance(configured, list)
            else [configured]
            if configured is not None
            else []
        )
        eos_ids.add(tokenizer.convert_tokens_to_ids(END_OF_TURN))
        temperature = float(overrides.get("temperature", self.temperature))
        kwargs: dict[str, Any] = {
            "max_new_tokens": int(overrides.get("max_new_tokens", self.max_new_tokens)),
            "eos_token_id": sorted(eos_ids),
            "pad_token_id": tokenizer.pad_token_id,
            "use_cache": True,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            kwargs["temperature"] = temperature
            kwargs["top_p"] = float(overrides.get("top_p", self.top_p))
        return kwargs

    def stream_prompt(
        self,
        prompt: EncodedPrompt,
        *,
        stop: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **overrides: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Generate from an encoded prompt, yielding text pieces and then a usage chunk.

        Args:
            prompt: From :meth:`encode`.
            stop: Strings that end the answer (excluded from it).
            cancel: Set it from any thread to stop generation at the next token.
            run_manager: LangChain callbacks for each new piece.
            **overrides: ``max_new_tokens``, ``temperature``, ``top_p`` for this call.

        Raises:
            GPUOutOfMemoryError: The GPU ran out of memory for this prompt (the model stays
                usable; only this call fails).

        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        model = self.model
        generation = self._generation_kwargs(**overrides)
        streamer = TextIteratorStreamer(
            self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        stopped = cancel or threading.Event()
        outcome: dict[str, Any] = {}

        class _StopWhenCancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
                return torch.full(
                    (input_ids.shape[0],),
                    stopped.is_set(),
                    dtype=torch.bool,
                    device=input_ids.device,
                )

        def generate() -> None:
            try:
                with torch.inference_mode():
                    output = model.generate(
                        **prompt.inputs.to(model.device),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_StopWhenCancelled()]),
                        **generation,
                    )
                outcome["output_tokens"] = int(output.shape[-1]) - prompt.token_count
            except torch.cuda.OutOfMemoryError:
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()  # give the memory back before the next request
                outcome["error"] = GPUOutOfMemoryError(
                    f"the GPU ran out of memory for this request ({prompt.token_count:,} prompt "
                    "tokens); retry later, or send a shorter prompt or fewer images"
                )
                streamer.end()
            except BaseException as error:  # handed to the consumer thread below
                outcome["error"] = error
                streamer.end()

        worker = threading.Thread(target=generate, name="bllossom-generate", daemon=True)
        stop_text = StopText(stop or ())
        worker.start()
        try:
            for piece in streamer:
                text = stop_text.feed(piece)
                if text:
                    yield self._text_chunk(text, run_manager)
                if stop_text.stopped:
                    stopped.set()
                    break
            worker.join()
            if "error" in outcome:
                raise outcome["error"]
            if tail := stop_text.flush():
                yield self._text_chunk(tail, run_manager)
            output_tokens = outcome.get("output_tokens", 0)
            at_limit = output_tokens >= generation["max_new_tokens"] and not stop_text.stopped
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata={
                        "input_tokens": prompt.token_count,
                        "output_tokens": output_tokens,
                        "total_tokens": prompt.token_count + output_tokens,
                    },
                    response_metadata={
                        "finish_reason": "length" if at_limit else "stop",
                        "model_name": self.model_name,
                    },
                )
            )
        finally:
            # The consumer stopped early (or finished): make generate() return promptly.
            stopped.set()
            worker.join()

    @staticmethod
    def _text_chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager is not None:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self.stream_prompt(
            self.encode(messages), stop=stop, run_manager=run_manager, **kwargs
        )


_weights_lock = threading.Lock()


@lru_cache(maxsize=SHARED_CHECKPOINTS)
def _shared_model(reference: str, device: str) -> Any:
    # lru_cache keeps results only, so a failed load is retried the next time.
    with loading("generator", reference):
        import torch
        from transformers import LlavaNextForConditionalGeneration

        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = LlavaNextForConditionalGeneration.from_pretrained(
            reference, dtype=dtype, attn_implementation="sdpa", device_map=device
        )
        model.eval()
    # The published config ships use_cache: false, which makes decoding quadratic.
    model.generation_config.use_cache = True
    return model
