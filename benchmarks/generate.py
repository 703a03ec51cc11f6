"""Generation speed: our code path against the model card's, in the same run.

Measures, for Bllossom-Vision's shape (Llama-3.1-8B text + CLIP-L/336, LLaVA-NeXT anyres):

1. decode tokens/s for a 512-token answer to a RAG prompt with one 672x672 image, through
   ``ChatBllossom.stream_prompt`` (bf16, SDPA, KV cache, ``<|eot_id|>`` stop, streaming) and
   through the model card's code path (``generate(**inputs, use_cache=False)``, the published
   config's setting), and the same for a text-only prompt;
2. time to first token for that image prompt (processor included, both paths);
3. throughput with 1, 4 and 16 concurrent streaming requests through the real worker
   (uvicorn + the OpenAI API over HTTP), against the card's code serving them one at a time.

Weights are random (built in memory from the config: the hub is unreachable here), which is fine
for speed: the work per token does not depend on the values. A random model rarely emits an end
token, and every rate below is computed from the tokens actually generated.

The whole run is budgeted (``--time-budget``, default 420 s, model build included): sections
that would not fit are skipped and reported as such, so a GPU run stays under 8 minutes.

Usage:
    python -m benchmarks.generate --processor DIR            # GPU, random 8B weights
    python -m benchmarks.generate --processor DIR --model M  # GPU, a real checkpoint folder
    python -m benchmarks.generate --smoke                    # CPU, tiny-llava-next, short
``--processor`` is a LLaVA-NeXT processor folder with Bllossom-Vision's tokenizer and image
geometry (the offline ``tiny-llava-next`` folder has exactly that).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from langchain_core.documents import Document
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.generation.chat_format import decode_image_block, image_block, to_chat  # noqa: E402
from rag.generation.llm import ChatBllossom  # noqa: E402
from rag.generation.prompt import PromptImage, build_messages  # noqa: E402
from rag.images import encode_data_url  # noqa: E402

QUESTION = "이 그림과 문서를 바탕으로 연차 휴가 신청 절차를 자세히 설명해 주세요."
IMAGE_SIDE = 672
GRID = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


@dataclass
class Plan:
    """Sizes for one run (the GPU defaults, or the CPU smoke sizes)."""

    answer_tokens: int = 512
    throughput_tokens: int = 128
    concurrency: tuple[int, ...] = (1, 4, 16)
    ttft_runs: int = 3


SMOKE = Plan(answer_tokens=24, throughput_tokens=8, concurrency=(1, 2, 4), ttft_runs=2)


@dataclass
class Run:
    """Timings of one generation."""

    tokens: int
    first: float  # seconds from start to the first token
    total: float  # seconds from start to the last token

    @property
    def decode_rate(self) -> float:
        """Tokens per second after the first token."""
        return (self.tokens - 1) / max(self.total - self.first, 1e-9)


@dataclass
class Report:
    """Results and skipped sections, printed as Markdown and saved as JSON."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def add(self, **row: Any) -> None:
        """Record one result row and show it at once."""
        self.rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)


# --- the model --------------------------------------------------------------------------------


def bllossom_vision_config(vocab_size: int) -> Any:
    """Bllossom-Vision's architecture: Llama-3.1-8B text + CLIP ViT-L/14 at 336 px, anyres."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaNextConfig

    text = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        rope_scaling={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
        bos_token_id=128000,
        eos_token_id=[128001, 128008, 128009],
        tie_word_embeddings=False,
    )
    vision = CLIPVisionConfig(
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=24,
        num_attention_heads=16,
        image_size=336,
        patch_size=14,
        projection_dim=768,
        hidden_act="quick_gelu",
    )
    return LlavaNextConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=128256,
        image_grid_pinpoints=GRID,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
    )


def random_model(config: Any, device: str) -> Any:
    """A model of ``config``'s shape with random weights, built directly on ``device``."""
    from transformers import LlavaNextForConditionalGeneration

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    torch.manual_seed(0)
    with torch.device(device):
        model = LlavaNextForConditionalGeneration._from_config(
            config, dtype=dtype, attn_implementation="sdpa"
        )
    model.eval()
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.pad_token_id = 128004
    return model


def load_parts(args: argparse.Namespace) -> tuple[ChatBllossom, str]:
    """The chat model (ours) around the model and processor to benchmark, and a description."""
    from transformers import AutoProcessor, LlavaNextConfig

    processor = AutoProcessor.from_pretrained(args.processor)
    if args.model:
        llm = ChatBllossom(model_name=args.model, device=args.device)
        llm.model  # noqa: B018  (load now, outside the timings)
        return llm, f"checkpoint {args.model}"
    if args.smoke:
        config = LlavaNextConfig.from_pretrained(args.processor)
        what = "random weights, tiny-llava-next's shape"
    else:
        config = bllossom_vision_config(len(processor.tokenizer))
        what = "random weights, Bllossom-Vision's shape (Llama-3.1-8B + CLIP-L/336)"
    model = random_model(config, args.device)
    params = sum(p.numel() for p in model.parameters())
    llm = ChatBllossom.from_loaded(model, processor, model_name="bllossom-vision-random")
    return llm, f"{what}, {params / 1e9:.2f} B parameters, {model.dtype}"


# --- prompts ----------------------------------------------------------------------------------


def passages() -> list[Document]:
    """Five passages from the repository's example corpus, as retrieval would give them."""
    files = sorted((ROOT / "examples").rglob("*.md"))[:5]
    return [
        Document(page_content=f.read_text(encoding="utf-8")[:1200], metadata={"source": str(f)})
        for f in files
    ]


def rag_messages(with_image: bool) -> list[Any]:
    """The chain's prompt: system, passages, question, optionally one 672x672 user image."""
    images = []
    if with_image:
        picture = Image.radial_gradient("L").resize((IMAGE_SIDE, IMAGE_SIDE)).convert("RGB")
        images = [PromptImage(image_block(encode_data_url(picture)), IMAGE_SIDE, IMAGE_SIDE)]
    return build_messages(QUESTION, passages(), images=images)


# --- one generation, two code paths -----------------------------------------------------------


def ours(llm: ChatBllossom, messages: list[Any], tokens: int) -> Run:
    """Our product path: encode, then stream with the KV cache and the eot stop."""
    start = time.perf_counter()
    prompt = llm.encode(messages)
    first = None
    output = 0
    for chunk in llm.stream_prompt(prompt, max_new_tokens=tokens, temperature=0.0):
        if chunk.message.content and first is None:
            first = time.perf_counter() - start
        if chunk.message.usage_metadata:
            output = chunk.message.usage_metadata["output_tokens"]
    total = time.perf_counter() - start
    return Run(tokens=output, first=first if first is not None else total, total=total)


class _TokenTimes:
    """A generate() streamer that only notes when each new token arrives."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.times: list[float] = []
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter() - self.start)

    def end(self) -> None:
        pass


def card(llm: ChatBllossom, messages: list[Any], tokens: int) -> Run:
    """The model card's code path: its own rendering, then ``generate(use_cache=False)``."""
    processor, model = llm.processor, llm.model
    chat, blocks = to_chat(messages)
    images = [decode_image_block(block, max_pixels=llm.max_image_pixels) for block in blocks]
    start = time.perf_counter()
    # The card renders with the template and lets the processor add BOS; same prompt as ours.
    text = processor.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=text, images=images or None, return_tensors="pt").to(model.device)
    timer = _TokenTimes(start)
    with torch.no_grad():
        model.generate(
            **inputs, max_new_tokens=tokens, do_sample=False, use_cache=False, streamer=timer
        )
    total = time.perf_counter() - start
    return Run(tokens=len(timer.times), first=timer.times[0], total=total)


# --- the worker ------------------------------------------------------------------------------


def through_worker(llm: ChatBllossom, concurrency: int, tokens: int) -> dict[str, Any]:
    """``concurrency`` streaming requests at once through the real worker over HTTP."""
    import openai

    from serve.http.server import BackgroundServer
    from serve.worker import WorkerOptions, create_app

    chat, _ = to_chat(rag_messages(with_image=False))
    messages = [{"role": m["role"], "content": m["content"]} for m in chat]
    options = WorkerOptions(
        model_id="bench", max_concurrency=concurrency, max_queue=concurrency, timeout=600
    )
    results: list[tuple[float, float, int]] = []
    with BackgroundServer(create_app(llm, options)) as server:
        api = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)

        def one() -> None:
            start = time.perf_counter()
            first, used = None, 0
            for chunk in api.chat.completions.create(
                model="bench",
                messages=messages,
                max_tokens=tokens,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            ):
                if chunk.choices and chunk.choices[0].delta.content and first is None:
                    first = time.perf_counter() - start
                if chunk.usage:
                    used = chunk.usage.completion_tokens
            results.append((first or 0.0, time.perf_counter() - start, used))

        wall = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall
    output = sum(r[2] for r in results)
    return {
        "output_tokens": output,
        "tokens_per_s": round(output / wall, 2),
        "mean_ttft_s": round(statistics.fmean(r[0] for r in results), 3),
        "p50_latency_s": round(statistics.median(r[1] for r in results), 3),
        "wall_s": round(wall, 2),
    }


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny model, short answers")
    parser.add_argument("--model", help="a real checkpoint folder instead of random weights")
    parser.add_argument("--processor", help="processor folder (default: tiny-llava-next)")
    parser.add_argument("--device", help="default: cuda (cpu with --smoke)")
    parser.add_argument("--time-budget", type=float, default=420.0, help="seconds, all in")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    started = time.perf_counter()
    offline = Path(os.environ.get("OFFLINE_MODELS_DIR", Path.home() / ".cache/offline-models"))
    args.processor = args.processor or str(offline / "tiny-llava-next")
    args.device = args.device or ("cpu" if args.smoke else "cuda")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU, or use --smoke for the CPU check")
    plan = SMOKE if args.smoke else Plan()

    llm, weights = load_parts(args)
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU (smoke)"
    report = Report(
        meta={
            "device": device_name,
            "weights": weights,
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
            "command": " ".join(sys.argv),
            "build_s": round(time.perf_counter() - started, 1),
        }
    )
    print(json.dumps(report.meta, ensure_ascii=False), flush=True)

    def remaining() -> float:
        return args.time_budget - (time.perf_counter() - started)

    image_prompt, text_prompt = rag_messages(with_image=True), rag_messages(with_image=False)
    ours(llm, image_prompt, 4)  # warm-up: kernels, allocator, processor caches
    prompt_tokens = {
        "image": llm.encode(image_prompt).token_count,
        "text": llm.encode(text_prompt).token_count,
    }

    # 1 + 2: our path first (it is the fast one), then the card's if its estimate fits.
    for name, messages in (("image", image_prompt), ("text", text_prompt)):
        fast = ours(llm, messages, plan.answer_tokens)
        report.add(
            section="decode",
            prompt=f"{name} ({prompt_tokens[name]} tokens)",
            path="ours (KV cache, SDPA, streaming)",
            tokens=fast.tokens,
            ttft_s=round(fast.first, 3),
            decode_tokens_per_s=round(fast.decode_rate, 2),
        )
        probe = card(llm, messages, 2)  # two uncached steps: the cost of each later step
        estimate = probe.first + (probe.total - probe.first) * plan.answer_tokens * 1.3
        if estimate > remaining() - 60:
            report.skipped.append(f"card decode, {name} prompt (estimated {estimate:.0f} s)")
            continue
        slow = card(llm, messages, plan.answer_tokens)
        report.add(
            section="decode",
            prompt=f"{name} ({prompt_tokens[name]} tokens)",
            path="model card (use_cache=False)",
            tokens=slow.tokens,
            ttft_s=round(slow.first, 3),
            decode_tokens_per_s=round(slow.decode_rate, 2),
            speedup=round(fast.decode_rate / slow.decode_rate, 1),
        )

    firsts = [ours(llm, image_prompt, 1).first for _ in range(plan.ttft_runs)]
    report.add(
        section="ttft",
        prompt=f"one {IMAGE_SIDE}x{IMAGE_SIDE} image ({prompt_tokens['image']} tokens)",
        path="ours",
        median_ttft_s=round(statistics.median(firsts), 3),
    )

    # 3: throughput through the worker, and the card's code serving one request at a time.
    for concurrency in plan.concurrency:
        if remaining() < 45:
            report.skipped.append(f"worker throughput at concurrency {concurrency}")
            continue
        report.add(
            section="throughput",
            path="ours, worker over HTTP",
            concurrency=concurrency,
            **through_worker(llm, concurrency, plan.throughput_tokens),
        )
    if remaining() > 30:
        sequential = card(llm, text_prompt, plan.throughput_tokens)
        report.add(
            section="throughput",
            path="model card, one request at a time",
            concurrency=1,
            output_tokens=sequential.tokens,
            tokens_per_s=round(sequential.tokens / sequential.total, 2),
        )
    else:
        report.skipped.append("card throughput baseline")

    report.meta["total_s"] = round(time.perf_counter() - started, 1)
    print(markdown(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"meta": report.meta, "rows": report.rows, "skipped": report.skipped}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2))


DECODE_COLUMNS = [
    ("prompt", "prompt"),
    ("path", "path"),
    ("tokens", "tokens"),
    ("TTFT s", "ttft_s"),
    ("decode tok/s", "decode_tokens_per_s"),
    ("speedup", "speedup"),
]
THROUGHPUT_COLUMNS = [
    ("path", "path"),
    ("concurrent requests", "concurrency"),
    ("output tokens", "output_tokens"),
    ("tok/s", "tokens_per_s"),
    ("mean TTFT s", "mean_ttft_s"),
    ("p50 latency s", "p50_latency_s"),
]


def markdown(report: Report) -> str:
    """The results as the Markdown tables in docs/benchmarks.md."""
    meta = report.meta
    lines = [
        f"{meta['device']}, {meta['weights']}, torch {meta['torch']}, {meta['date']}; "
        f"total {meta['total_s']} s (model build {meta['build_s']} s).",
        "",
        *table(report, "decode", DECODE_COLUMNS),
    ]
    for row in report.rows:
        if row["section"] == "ttft":
            lines += ["", f"Median time to first token, {row['prompt']}: {row['median_ttft_s']} s."]
    lines += ["", *table(report, "throughput", THROUGHPUT_COLUMNS)]
    if report.skipped:
        lines += ["", "Skipped (time budget): " + "; ".join(report.skipped) + "."]
    return "\n".join(lines)


def table(report: Report, section: str, columns: list[tuple[str, str]]) -> list[str]:
    """One Markdown table of a section's rows (text columns left, numbers right)."""
    lines = [
        "| " + " | ".join(header for header, _ in columns) + " |",
        "| " + " | ".join("---" if i < 2 else "---:" for i in range(len(columns))) + " |",
    ]
    for row in report.rows:
        if row["section"] == section:
            lines.append("| " + " | ".join(str(row.get(key, "")) for _, key in columns) + " |")
    return lines


if __name__ == "__main__":
    main()
