"""ChatBllossom: real generation with the tiny LLaVA-NeXT, streamed, with images."""

from __future__ import annotations

import threading

import pytest
import torch
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from PIL import Image

from rag.config import Settings
from rag.errors import GPUOutOfMemoryError
from rag.generation.chat_format import image_block
from rag.generation.llm import (
    END_OF_TURN_ID,
    ChatBllossom,
    chat_model,
    remote_chat_model,
    worker_base_url,
)
from rag.images import ImageDecodeError, encode_data_url


def test_stream_yields_tokens_then_usage(chat_model: ChatBllossom):
    chunks = list(chat_model.stream([SystemMessage("sys"), HumanMessage("안녕하세요?")]))
    text_chunks = [c for c in chunks if c.content]
    assert text_chunks, "expected streamed text"
    merged = sum(chunks[1:], chunks[0])
    assert isinstance(merged, AIMessageChunk)
    usage = merged.usage_metadata
    assert usage is not None
    assert usage["output_tokens"] == chat_model.max_new_tokens  # random weights never stop
    assert merged.response_metadata["finish_reason"] == "length"
    prompt = chat_model.encode([SystemMessage("sys"), HumanMessage("안녕하세요?")])
    assert usage["input_tokens"] == prompt.token_count


def test_greedy_generation_is_repeatable_and_invoke_matches_stream(chat_model: ChatBllossom):
    messages = [HumanMessage("Describe Seoul.")]
    first = chat_model.invoke(messages).content
    streamed = "".join(str(c.content) for c in chat_model.stream(messages))
    assert first == streamed
    assert first


def test_image_question_generates(chat_model: ChatBllossom):
    image = Image.new("RGB", (500, 300), "green")
    message = HumanMessage(
        content=[image_block(encode_data_url(image)), {"type": "text", "text": "무엇이 보이나요?"}]
    )
    reply = chat_model.invoke([message])
    assert reply.usage_metadata["input_tokens"] > 1000  # the image's tokens are in the prompt


def test_eot_is_always_a_stop_token(chat_model: ChatBllossom):
    eot = chat_model.processor.tokenizer.convert_tokens_to_ids("<|eot_id|>")
    assert eot == END_OF_TURN_ID  # the id remote servers are told to stop on
    kwargs = chat_model._generation_kwargs()
    assert eot in kwargs["eos_token_id"]
    assert kwargs["use_cache"] is True
    assert kwargs["do_sample"] is False


def test_stopping_the_stream_stops_generation(generator_model: str):
    model = ChatBllossom(
        model_name=generator_model, device="cpu", max_new_tokens=400, temperature=0
    )
    steps: list[int] = []
    hook = model.model.register_forward_hook(lambda *_: steps.append(1))
    try:
        stream = model.stream([HumanMessage("long answer please")])
        next(stream)
        stream.close()  # what a disconnecting client does; returns once generation has ended
    finally:
        hook.remove()
    assert not [t for t in threading.enumerate() if t.name == "bllossom-generate"]
    assert len(steps) < 100  # far from the 400 decoding steps it was asked for


def test_loads_on_the_device_with_sdpa_and_kv_cache(chat_model: ChatBllossom):
    model = chat_model.model
    assert model.device.type == "cpu" and model.dtype == torch.float32  # bf16 only on CUDA
    assert model.config._attn_implementation == "sdpa"
    assert model.generation_config.use_cache is True


def test_stop_string_ends_the_answer_before_it(chat_model: ChatBllossom):
    messages = [HumanMessage("Tell me about Busan.")]
    full = chat_model.invoke(messages, max_new_tokens=24).content
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert stop.strip(), full
    chunks = list(chat_model.stream(messages, stop=[stop], max_new_tokens=24))
    text = "".join(str(c.content) for c in chunks)
    assert text == full[: full.index(stop)]
    merged = sum(chunks[1:], chunks[0])
    assert merged.response_metadata["finish_reason"] == "stop"


def test_cancel_event_stops_generation_from_another_thread(chat_model: ChatBllossom):
    cancel = threading.Event()
    prompt = chat_model.encode([HumanMessage("long answer please")])
    stream = chat_model.stream_prompt(prompt, cancel=cancel, max_new_tokens=5000)
    next(stream)
    cancel.set()  # what the worker does when a client disconnects
    *_, last = stream  # the usage chunk comes last
    usage = last.message.usage_metadata
    assert usage["output_tokens"] < 100  # far from the 5,000 tokens it was asked for


def test_out_of_memory_fails_only_that_call(chat_model: ChatBllossom):
    def exhaust(*_):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    hook = chat_model.model.register_forward_pre_hook(exhaust)
    try:
        with pytest.raises(GPUOutOfMemoryError, match="ran out of memory"):
            chat_model.invoke([HumanMessage("hello")])
    finally:
        hook.remove()
    assert chat_model.invoke([HumanMessage("hello")]).content
    assert not [t for t in threading.enumerate() if t.name == "bllossom-generate"]


def test_worker_url_selects_chat_openai_with_the_same_sampling():
    settings = Settings(
        generation={
            "worker_url": "http://gpu-box:8000",
            "worker_api_key": "worker-secret-7f3a91bc",
            "model": "Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
            "max_new_tokens": 77,
            "temperature": 0.3,
            "top_p": 0.8,
        }
    )
    llm = remote_chat_model(settings)
    assert type(llm).__name__ == "ChatOpenAI"
    assert llm.openai_api_base == "http://gpu-box:8000/v1"
    assert llm.openai_api_key.get_secret_value() == "worker-secret-7f3a91bc"
    assert (llm.model_name, llm.max_tokens, llm.temperature, llm.top_p) == (
        "Bllossom/llama-3.1-Korean-Bllossom-Vision-8B",
        77,
        0.3,
        0.8,
    )
    assert llm.extra_body == {"stop_token_ids": [128009]}  # <|eot_id|>, for vLLM
    assert worker_base_url("http://vllm:8000/v1/") == "http://vllm:8000/v1"


def test_settings_build_the_local_model_in_one_place(generator_model: str):
    settings = Settings(
        device="cpu",
        max_image_pixels=123_456,
        generation={
            "model": generator_model,
            "max_new_tokens": 33,
            "temperature": 0.2,
            "top_p": 0.7,
        },
    )
    local = chat_model(settings)
    assert isinstance(local, ChatBllossom)
    assert (local.model_name, local.device, local.max_new_tokens) == (generator_model, "cpu", 33)
    assert (local.temperature, local.top_p, local.max_image_pixels) == (0.2, 0.7, 123_456)
    served = ChatBllossom.from_settings(settings, model_name="/srv/other-checkpoint")
    assert served.model_name == "/srv/other-checkpoint"
    assert served.max_new_tokens == 33
    remote = chat_model(
        settings.model_copy(
            update={
                "generation": settings.generation.model_copy(
                    update={"worker_url": "http://gpu-box:8000"}
                )
            }
        )
    )
    assert type(remote).__name__ == "ChatOpenAI"


def test_encoding_applies_the_models_pixel_limit(chat_model: ChatBllossom):
    """What the worker runs for each request: the setting, not a constant, bounds decoding."""
    message = HumanMessage(
        content=[
            {"type": "text", "text": "무엇이 보이나요?"},
            image_block(encode_data_url(Image.new("RGB", (500, 300), "green"))),
        ]
    )
    limited = chat_model.model_copy(update={"max_image_pixels": 149_999})
    with pytest.raises(ImageDecodeError, match=r"messages\[0\]\.content\[1\]: image is 500x300"):
        limited.encode([message])
    assert chat_model.encode([message]).token_count > 1000
