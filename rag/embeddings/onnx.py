"""The ONNX Runtime embedding backend: the encoder exported once, then run without torch.

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, whose only release pins
``transformers<4.58`` (checked again for this backend: still so), so the encoder is exported
directly: ``torch.onnx.export`` of the transformer with the pooling and the normalization
inside the graph, run by ``onnxruntime``. Optionally the graph is quantized
(``quantize_dynamic``: int8 weights, activations quantized on the fly), which roughly halves a
query's time again for a small, measured loss (``docs/benchmarks.md``, the backend table).

Exactness comes from reuse, not re-implementation: texts are tokenized by the loaded
sentence-transformers model itself (``preprocess`` with the model's own query or document
prompt, its truncation and its prompt length), so only the forward pass changes, and the tests
hold the fp32 graph to within 1e-3 cosine of torch's vectors. Supported: a Transformer module,
mean or CLS pooling (with or without the prompt tokens), an optional Normalize; any other
layout is refused with a message naming it.

Exports are cached under ``embedding.cache_dir`` (shared by every store of the user) in a
folder keyed by the model (its configuration and its files' names, sizes, times and first
bytes, so a fine-tune is another model) and by the exporter's versions, and published whole:
built in a scratch folder that is renamed into place, so a reader never sees half a graph and
two processes exporting at once keep one result. The int8 graph is quantized from the cached
fp32 one. After the session is built, the torch weights are released (moved to the
``meta`` device): the sentence-transformers object stays for tokenization only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.errors import ModelLoadError
from rag.runtime.models import loading

if TYPE_CHECKING:
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the graph changes: older exports are then redone
OPSET = 17
Task = Literal["query", "document"]
# sentence-transformers' document prompt names, in the order encode_document tries them.
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_DIGEST_BYTES = 1 << 16


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bllossom-rag`` (else ``~/.cache/bllossom-rag``): shared by stores."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bllossom-rag"


class OnnxEmbeddings(SentenceTransformerEmbeddings):
    """Embeddings computed by an exported ONNX graph; tokenization by sentence-transformers.

    Args:
        model: The loaded sentence-transformers model (its tokenizer and prompts are used).
        session: The ONNX Runtime session of the exported graph.
        name: The configured model name or folder.
        batch_size: Texts per forward pass.
        quantized: Whether the graph has int8 weights.

    """

    def __init__(
        self,
        model: SentenceTransformer,
        session: onnxruntime.InferenceSession,
        *,
        name: str,
        batch_size: int = 32,
        quantized: bool = False,
    ) -> None:
        super().__init__(model, name=name, batch_size=batch_size)
        self.session = session
        self.backend = "onnx-int8" if quantized else "onnx"
        self._inputs = [i.name for i in session.get_inputs()]
        self._include_prompt = bool(getattr(_pooling(model), "include_prompt", True))

    @classmethod
    def load_onnx(
        cls,
        name_or_path: str,
        *,
        batch_size: int = 32,
        quantize: bool = False,
        cache_dir: Path | None = None,
    ) -> OnnxEmbeddings:
        """Load the model on the CPU, export (or find) its graph and open it.

        Raises:
            ModelLoadError: The model cannot be loaded, its layout is not supported, or
                onnxruntime is missing.

        """
        torch_model = SentenceTransformerEmbeddings.load(name_or_path, device="cpu")
        try:
            import onnxruntime
        except ImportError as error:
            msg = (
                "embedding.backend onnx needs onnxruntime (pip install 'bllossom-rag[onnx]'), "
                f"or set embedding.backend = torch ({error})"
            )
            raise ModelLoadError(msg) from None
        model = torch_model.model
        mode = _pooling_mode(model)  # refuses an unsupported layout before exporting anything
        with loading("embedding", f"{torch_model.name} ({mode} pooling, ONNX export)"):
            graph = exported_graph(model, cache_dir or default_cache_dir(), quantize=quantize)
            options = onnxruntime.SessionOptions()
            # Spinning threads burn the cores others need between calls (the CPU is shared
            # with tokenization, BM25 and whatever else runs); blocking costs microseconds.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(
                str(graph), options, providers=["CPUExecutionProvider"]
            )
        _transformer(model).auto_model.to("meta")  # tokenization only from here on
        return cls(
            model,
            session,
            name=torch_model.name,
            batch_size=batch_size,
            quantized=quantize,
        )

    # --- encoding ----------------------------------------------------------------------------

    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        """Passages -> ``(n, dimension)`` float32, normalized.

        ``token_ids`` are not used: the graph is fed by the model's own preprocessing, a small
        share of its time.
        """
        return self._encode(texts, "document")

    def encode_query(self, text: str) -> np.ndarray:
        """One query -> ``(dimension,)`` float32, normalized."""
        return self._encode([text], "query")[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries -> ``(n, dimension)`` float32, normalized."""
        return self._encode(texts, "query")

    def _encode(self, texts: Sequence[str], task: Task) -> np.ndarray:
        """Sort by length, batch, tokenize as sentence-transformers does, run the graph."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        prompt = _prompt(self.model, task)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = order[start : start + self.batch_size]
            features = self.model.preprocess([texts[i] for i in batch], prompt=prompt, task=task)
            feeds = {k: features[k].numpy() for k in self._inputs if k != "pooling_mask"}
            feeds["pooling_mask"] = self._pooling_mask(features)
            out[batch] = self.session.run(None, feeds)[0]
        return out

    def _pooling_mask(self, features: dict[str, Any]) -> np.ndarray:
        """The attention mask, without the prompt's tokens when the pooling excludes them."""
        mask = features["attention_mask"].numpy().copy()
        length = features.get("prompt_length")
        if self._include_prompt or not length:
            return mask
        lead = mask.argmax(axis=1)  # left padding, if the tokenizer pads on the left
        mask[np.arange(mask.shape[1])[None, :] < (lead + int(length))[:, None]] = 0
        return mask


def _prompt(model: SentenceTransformer, task: Task) -> str | None:
    """The prompt ``encode_query`` / ``encode_document`` would use for this model."""
    names = ("query",) if task == "query" else _DOCUMENT_PROMPTS
    for name in names:
        if name in model.prompts:
            return model.prompts[name]
    default = model.default_prompt_name
    return model.prompts.get(default) if default else None


def _transformer(model: SentenceTransformer) -> Any:
    return model[0]


def _pooling(model: SentenceTransformer) -> Any:
    return model[1] if len(model) > 1 else None


def _pooling_mode(model: SentenceTransformer) -> str:
    """``mean`` or ``cls``, or a :class:`ModelLoadError` naming the layout that is not."""
    # By class name: the classes moved between sentence-transformers 5 and 6.
    kinds = [type(module).__name__ for module in model]
    pooling = _pooling(model)
    mode = getattr(pooling, "pooling_mode", None)
    mode = mode[0] if isinstance(mode, (list, tuple)) and len(mode) == 1 else mode
    layout_ok = (
        kinds[:2] == ["Transformer", "Pooling"]
        and all(kind == "Normalize" for kind in kinds[2:])
        and mode in ("mean", "cls")
    )
    if not layout_ok:
        layout = " + ".join(kinds)
        msg = (
            f"embedding.backend onnx supports Transformer + mean or CLS pooling (+ Normalize); "
            f"this model is {layout} (pooling {mode!r}): set embedding.backend = torch"
        )
        raise ModelLoadError(msg)
    return str(mode)


# --- export --------------------------------------------------------------------------------


def model_key(model: SentenceTransformer, quantize: bool) -> str:
    """A digest naming one export: the model's files and layout, and the exporter's versions.

    The files (name, size, modification time, and the first bytes of every file) rather than
    the loaded tensors: a checkpoint may leave layers that the graph never uses (e5's pooler)
    to random initialization, which would give every load another key.
    """
    import onnxruntime
    import torch

    transformer = _transformer(model).auto_model
    folder = Path(transformer.config._name_or_path)
    digest = hashlib.sha256()
    layout = {
        "config": transformer.config.to_dict(),
        "pooling": _pooling_mode(model),
        "include_prompt": bool(getattr(_pooling(model), "include_prompt", True)),
        "versions": [EXPORT_VERSION, OPSET, torch.__version__, onnxruntime.__version__],
    }
    digest.update(json.dumps(layout, sort_keys=True, default=str).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_DIGEST_BYTES))
    return digest.hexdigest()[:16] + ("-int8" if quantize else "")


def exported_graph(model: SentenceTransformer, cache_dir: Path, *, quantize: bool) -> Path:
    """The cached graph for ``model``: exported on first use, quantized from the fp32 one."""
    folder = cache_dir / "onnx" / model_key(model, quantize)
    graph = folder / "model.onnx"
    if graph.is_file():
        return graph
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        fp32 = exported_graph(model, cache_dir, quantize=False)
        logger.warning("quantizing the ONNX embedding model to int8 once (%s)", folder)
        _publish(folder, lambda g: quantize_dynamic(str(fp32), str(g), weight_type=QuantType.QInt8))
    else:
        logger.warning("exporting the embedding model to ONNX once (%s)", folder)
        _publish(folder, lambda g: _export(model, g))
    return graph


def _publish(folder: Path, make: Callable[[Path], object]) -> None:
    """Build ``folder/model.onnx`` with ``make`` in a scratch folder, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".export-") as scratch:
        work = Path(scratch) / folder.name
        work.mkdir()
        make(work / "model.onnx")
        for path in (work / "model.onnx", work):  # durable before it becomes visible
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        try:
            work.rename(folder)  # the whole folder appears at once
        except OSError:
            if not (folder / "model.onnx").is_file():  # not another process's, done first
                raise


def _export(model: SentenceTransformer, path: Path) -> None:
    """``torch.onnx.export`` of encoder + pooling + normalization, dynamic batch and length."""
    import torch

    class Pooled(torch.nn.Module):
        """The encoder, then mean or CLS pooling over ``pooling_mask``, then L2 normalization."""

        def __init__(self, transformer: torch.nn.Module, names: list[str], mode: str) -> None:
            super().__init__()
            self.transformer, self.names, self.mode = transformer, names, mode

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            *model_inputs, pooling_mask = tensors
            hidden = self.transformer(**dict(zip(self.names, model_inputs, strict=True)))[0]
            if self.mode == "cls":  # the first pooled token, as sentence-transformers takes it
                first = pooling_mask.argmax(dim=1)
                index = first.view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
                pooled = hidden.gather(1, index).squeeze(1)
            else:
                weights = pooling_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=-1)

    mode = _pooling_mode(model)
    # Two texts of different lengths: the trace must take the padded-attention path.
    sample = model.preprocess(["짧은 문장", "a longer English sample sentence, padded against"])
    names = [n for n in _MODEL_INPUTS if n in sample]
    inputs = (*(sample[n] for n in names), sample["attention_mask"])
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "pooling_mask"]}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about shapes it records as constants; the graph is checked against
        # torch's vectors on padded batches (tests/rag/embeddings/test_onnx.py).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(_transformer(model).auto_model, names, mode).eval(),
            inputs,
            str(path),
            input_names=[*names, "pooling_mask"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
