"""``ChatBllossom``: Bllossom-Vision as a LangChain chat model, in-process, with images.

LangChain's Hugging Face chat wrappers are text-only, and the model card's own code disables
the KV cache, passes processor arguments positionally and does not stop on ``<|eot_id|>``. This
wrapper renders the card's chat format through :mod:`rag.prompt` (one BOS, special tokens only
where the template puts them), tokenizes without adding special tokens again, keeps the KV
cache on, stops on ``<|eot_id|>`` as well as the config's EOS ids, and streams tokens from a
generation thread that stops as soon as the consumer does.

The model loads lazily on first use, so building the object (and the chain around it) is cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from rag.messages import to_chat
from rag.models import loading, model_reference, resolve_device
from rag.prompt import render_chat

if TYPE_CHECKING:
    from PIL import Image

END_OF_TURN = "<|eot_id|>"


@dataclass(frozen=True)
class EncodedPrompt:
    """A rendered prompt: its text (special tokens included), images and model inputs."""

    text: str
    images: list[Image.Image]
    inputs: Any  # transformers BatchFeature: input_ids, attention_mask, pixel_values, ...

    @property
    def token_count(self) -> int:
        """Prompt length in tokens, each image counted as its expanded image tokens."""
        return int(self.inputs["input_ids"].shape[-1])


def encode_prompt(processor: Any, messages: Sequence[BaseMessage]) -> EncodedPrompt:
    """Render messages in the Bllossom format and run the processor on text and images.

    Args:
        processor: A LLaVA-NeXT processor (tokenizer + image processor).
        messages: LangChain messages; image blocks become ``<image>`` slots.

    """
    chat, images = to_chat(messages)
    text = render_chat(processor.tokenizer, chat)
    inputs = processor(
        text=text,
        images=images or None,
        add_special_tokens=False,  # the one BOS is already in the text
        return_tensors="pt",
    )
    return EncodedPrompt(text=text, images=images, inputs=inputs)


def load_processor(name_or_path: str) -> Any:
    """The generator's processor alone (enough to render and count a prompt)."""
    reference = model_reference(name_or_path, "generator")
    with loading("generator", reference):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(reference)


class ChatBllossom(BaseChatModel):
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

    _model: Any = PrivateAttr(default=None)
    _processor: Any = PrivateAttr(default=None)
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

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
        with loading("generator", reference):
            import torch
            from transformers import LlavaNextForConditionalGeneration

            device = resolve_device(self.device)
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
            model = LlavaNextForConditionalGeneration.from_pretrained(
                reference, dtype=dtype, attn_implementation="sdpa"
            )
            model.to(device).eval()
        # The published config ships use_cache: false, which makes decoding quadratic.
        model.generation_config.use_cache = True
        return model

    def encode(self, messages: Sequence[BaseMessage]) -> EncodedPrompt:
        """Render and tokenize messages exactly as generation will see them."""
        return encode_prompt(self.processor, messages)

    def _generation_kwargs(self, stop: list[str] | None, **overrides: Any) -> dict[str, Any]:
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
        if stop:
            kwargs["stop_strings"] = list(stop)
            kwargs["tokenizer"] = tokenizer
        return kwargs

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        prompt = self.encode(messages)
        model = self.model
        generation = self._generation_kwargs(stop, **kwargs)
        streamer = TextIteratorStreamer(
            self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}

        class _StopWhenCancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

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
            except BaseException as error:  # handed to the consumer thread below
                outcome["error"] = error
                streamer.end()

        worker = threading.Thread(target=generate, name="bllossom-generate", daemon=True)
        worker.start()
        try:
            for text in streamer:
                if not text:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager is not None:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
            worker.join()
            if "error" in outcome:
                raise outcome["error"]
            output_tokens = outcome.get("output_tokens", 0)
            finish = "length" if output_tokens >= generation["max_new_tokens"] else "stop"
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata={
                        "input_tokens": prompt.token_count,
                        "output_tokens": output_tokens,
                        "total_tokens": prompt.token_count + output_tokens,
                    },
                    response_metadata={"finish_reason": finish, "model_name": self.model_name},
                )
            )
        finally:
            # The consumer stopped early (or finished): make generate() return promptly.
            cancelled.set()
            worker.join()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
