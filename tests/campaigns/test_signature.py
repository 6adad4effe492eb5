"""The fingerprint computed with numpy is datasketch's MinHash, value for value, and the band
shape is the one its criterion gives: an index built before these were rewritten still
matches."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from datasketch import MinHash

from mailbot.campaigns.signature import SEED, band_shape, fingerprint, shingles, words

TEXTS = [
    "I agree",
    "one two three",
    "".join(f"Point {i}: the working group should publish its papers.\r\n" for i in range(16)),
    "Hello wörld, ça va? 你好世界 l'Été arrive, et les données aussi. " * 20,
]


def datasketch_minhash(text: str, num_perm: int) -> np.ndarray:
    minhash = MinHash(num_perm=num_perm, seed=SEED, scheme="affine32", hashfunc=zlib.crc32)
    minhash.update_batch(sorted({" ".join(s).encode() for s in _runs(words(text))}))
    return minhash.hashvalues.astype(np.uint32)


def _runs(tokens: list[str]) -> list[tuple[str, ...]]:
    if len(tokens) < 3:
        return [tuple(tokens)] if tokens else []
    return [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("text", TEXTS)
def test_the_minhash_is_datasketchs(text: str, num_perm: int) -> None:
    found = fingerprint(text, num_perm=num_perm)
    assert found is not None
    assert found.hashes.tolist() == datasketch_minhash(text, num_perm).tolist()
    assert shingles(words(text)) == {" ".join(s).encode() for s in _runs(words(text))}


def _band_shape_by_the_book(threshold: float, num_perm: int) -> tuple[int, int]:
    def probability(s: float, bands: int, rows: int) -> float:
        return float(1 - (1 - s**rows) ** bands)

    grid = [i / 200 for i in range(201)]
    best: tuple[float, int, int] = (float("inf"), 1, num_perm)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = sum(probability(s, bands, rows) for s in grid if s < threshold) / 200
            fn = sum(1 - probability(s, bands, rows) for s in grid if s >= threshold) / 200
            if fp + fn < best[0]:
                best = (fp + fn, bands, rows)
    return best[1], best[2]


@pytest.mark.parametrize("threshold", [0.2, 0.4, 0.75])
def test_the_band_shape_is_unchanged(threshold: float) -> None:
    assert band_shape(threshold, 128) == _band_shape_by_the_book(threshold, 128)
