"""``ScriptedEmbeddings``: deterministic, offline text embeddings (the ``EmbeddingModel`` port).

A hashing-trick bag of words: each lower-cased word adds +1 or -1 (by a BLAKE2b hash of the word) to one
of ``dimensions`` coordinates (by the same hash), and the vector is scaled to unit length. The same text
always gives the same vector, and texts sharing words are close in cosine similarity, which is what tests
and demos of retrieval need without a network. Usage: one input token per word.
"""

from __future__ import annotations

import hashlib
import math
import re

from contracts.models import EmbeddingRequest, EmbeddingResponse
from contracts.usage import Usage

DEFAULT_DIMENSIONS = 64
MAX_DIMENSIONS = 4096
_WORD = re.compile(r"\w+")


def embed_text(text: str, dimensions: int) -> tuple[float, ...]:
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vector[value % dimensions] += 1.0 if value >> 63 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    return tuple(x / norm for x in vector) if norm else tuple(vector)


class ScriptedEmbeddings:
    """Implements ``EmbeddingModel`` offline."""

    def __init__(self, name: str, model: str) -> None:
        self._name = name
        self._model = model

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        dimensions = min(max(1, request.dimensions or DEFAULT_DIMENSIONS), MAX_DIMENSIONS)
        tokens = sum(len(_WORD.findall(text)) for text in request.inputs)
        return EmbeddingResponse(
            vectors=tuple(embed_text(text, dimensions) for text in request.inputs),
            usage=Usage(input_tokens=tokens, total_tokens=tokens),
            provider=self._name,
            model=request.model or self._model,
        )
