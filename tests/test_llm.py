"""ChatBllossom: real generation with the tiny LLaVA-NeXT, streamed, with images."""

from __future__ import annotations

import threading

from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from PIL import Image

from rag.images import encode_data_url
from rag.llm import ChatBllossom
from rag.messages import image_block


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
    kwargs = chat_model._generation_kwargs(None)
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
