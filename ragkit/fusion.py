"""Ranked lists of chunk ids, and hybrid search's fusion of the dense and BM25 lists.

Fusion is a weighted sum of min-max normalised scores (not reciprocal rank): a chunk keeps how
far ahead it was in each list, and a chunk missing from a list scores 0 there.
"""

from __future__ import annotations

# Chunk ids (as strings) and their scores, best first.
Ranked = list[tuple[str, float]]


def normalise(ranked: Ranked) -> dict[str, float]:
    """Min-max scale scores to [0, 1] so that two lists can be added."""
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    if high - low < 1e-12:
        return {chunk_id: 1.0 for chunk_id, _ in ranked}
    return {chunk_id: (score - low) / (high - low) for chunk_id, score in ranked}


def fuse(dense: Ranked, text: Ranked, dense_weight: float) -> Ranked:
    """Weighted sum of min-max normalised scores (a chunk missing from a list scores 0 there)."""
    dense_scores, text_scores = normalise(dense), normalise(text)
    fused = {
        chunk_id: dense_weight * dense_scores.get(chunk_id, 0.0)
        + (1 - dense_weight) * text_scores.get(chunk_id, 0.0)
        for chunk_id in dense_scores.keys() | text_scores.keys()
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
