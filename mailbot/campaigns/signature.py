"""A text's fingerprint: normalised words, 3-word shingles, a MinHash (datasketch), LSH band
keys. Pure functions, no database: the index and the bench share them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash  # imports scipy: seconds on a busy machine, once a process

SHINGLE = 3  # words a shingle: reordered paragraphs and an added sentence touch few of them
MAX_WORDS = 5000  # bound the work on a long text; a campaign letter is far shorter
WORD = re.compile(r"[^\W_]+", re.UNICODE)
SEED = 16


# Scripts written without spaces (CJK ideographs, kana): a character a word.
UNSPACED = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
MARKS = re.compile(r"[\u0300-\u036f]")  # combining accents, after NFKD


def words(text: str) -> list[str]:
    """Case-folded, accent-free words; CJK text (no spaces) counts one character a word."""
    folded = text[: MAX_WORDS * 20].casefold()
    if not folded.isascii():
        folded = MARKS.sub("", unicodedata.normalize("NFKD", folded))
        folded = UNSPACED.sub(r" \1 ", folded)
    return WORD.findall(folded)[:MAX_WORDS]


def shingles(tokens: list[str]) -> set[bytes]:
    if len(tokens) < SHINGLE:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE]).encode() for i in range(len(tokens) - SHINGLE + 1)}


@dataclass(frozen=True)
class Fingerprint:
    hashes: np.ndarray  # the MinHash values (uint64 from datasketch, kept as uint32)
    words: int

    def to_bytes(self) -> bytes:
        return self.hashes.astype(np.uint32).tobytes()


def fingerprint(text: str, *, num_perm: int, min_words: int = 1) -> Fingerprint | None:
    """None for a text of fewer than `min_words` words (nothing worth comparing)."""
    tokens = words(text)
    found = shingles(tokens)
    if not found or len(tokens) < min_words:
        return None
    minhash = MinHash(
        num_perm=num_perm,
        seed=SEED,
        scheme="affine32",
        hashfunc=zlib.crc32,  # in C: a third of the cost of datasketch's default SHA-1
        permutations=_permutations(num_perm),
    )
    minhash.update_batch(list(found))
    return Fingerprint(hashes=minhash.hashvalues.astype(np.uint32), words=len(tokens))


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch draws these per MinHash; drawn once, a fingerprint costs only the hashing."""
    return MinHash(num_perm=num_perm, seed=SEED, scheme="affine32").permutations


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def _probability(s: float, bands: int, rows: int) -> float:
    return float(1 - (1 - s**rows) ** bands)


@lru_cache(maxsize=16)
def band_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives around `threshold`
    (the same criterion as datasketch's MinHashLSH)."""
    grid = [i / 200 for i in range(201)]
    best: tuple[float, int, int] = (float("inf"), 1, num_perm)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = sum(_probability(s, bands, rows) for s in grid if s < threshold) / 200
            fn = sum(1 - _probability(s, bands, rows) for s in grid if s >= threshold) / 200
            if fp + fn < best[0]:
                best = (fp + fn, bands, rows)
    return best[1], best[2]


def band_keys(hashes: np.ndarray, *, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key a band (fits a BIGINT), the band's number mixed in."""
    keys = []
    for band in range(bands):
        chunk = hashes[band * rows : (band + 1) * rows].astype(np.uint32).tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys
