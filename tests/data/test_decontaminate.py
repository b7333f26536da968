"""Near-duplicate removal: hand-computed cosines, chunking, input checks, real MT-Bench pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_py.data.decontaminate import decontaminate, max_cosine


class TableEncoder:
    """Test double of the encoder protocol: fixed unit vectors per text."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([self.table[t] for t in texts], dtype=np.float32)


ENC = TableEncoder(
    {
        "e1": [1.0, 0.0],
        "e2": [0.6, 0.8],
        "e3": [0.0, 1.0],
        "t1": [0.96, 0.28],  # cos(e1, t1) = 0.96, cos(e2, t1) = 0.8, cos(e3, t1) = 0.28
        "t2": [-0.6, 0.8],  # cos(e3, t2) = 0.8, cos(e2, t2) = 0.28
    }
)


def test_hand_computed_cosines():
    np.testing.assert_allclose(
        max_cosine(ENC.encode(["e1", "e2", "e3"]), ENC.encode(["t1", "t2"])),
        [0.96, 0.8, 0.8],
        atol=1e-6,
    )
    keep, dropped = decontaminate(["e1", "e2", "e3"], ["t1", "t2"], ENC, threshold=0.95)
    assert keep.tolist() == [False, True, True] and dropped == 1
    keep, dropped = decontaminate(["e1", "e2", "e3"], ["t1", "t2"], ENC, threshold=0.79)
    assert keep.tolist() == [False, False, False] and dropped == 3
    keep, dropped = decontaminate(["e1"], [], ENC)
    assert keep.tolist() == [True] and dropped == 0


def test_chunking_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(37, 8)), rng.normal(size=(53, 8))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    expected = (a @ b.T).max(axis=1)
    for chunk in (1, 5, 16, 4096):
        np.testing.assert_allclose(max_cosine(a, b, chunk_size=chunk), expected, atol=1e-6)


def test_rejects_unnormalised_or_mismatched_embeddings():
    with pytest.raises(ValueError, match="L2-normalised"):
        max_cosine(np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match="dims differ: 2 vs 3"):
        max_cosine(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="threshold"):
        decontaminate(["e1"], ["t1"], ENC, threshold=1.5)


def test_real_mt_bench_contamination_pairs(data_dir):
    """RouteLLM's 8 MT-Bench prompts found in Arena data are dropped, and nothing else, with
    the project's word-hashing encoder (cheap; MiniLM is exercised in the embeddings tests)."""
    from routellm_py.data.benchmarks import load_benchmark
    from routellm_py.embeddings import get_encoder

    path = data_dir / "benchmarks/mt_bench/contaminated_prompts.jsonl"
    pairs = [json.loads(line) for line in path.read_text().splitlines()]
    prompts = load_benchmark("mt-bench", data_dir).prompts
    train = [p["train_prompt"] for p in pairs]
    keep, dropped = decontaminate(prompts, train, get_encoder("hashing:4096", cache=False))
    assert dropped == len(pairs) == 8
    assert {p for p, k in zip(prompts, keep, strict=True) if not k} == {
        p["eval_prompt"] for p in pairs
    }
