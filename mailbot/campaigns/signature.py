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
    """The UTF-8 bytes of each run of SHINGLE words joined by one space (map and zip: no
    Python step a shingle, and a text has hundreds)."""
    if len(tokens) < SHINGLE:
        return {" ".join(tokens).encode()} if tokens else set()
    runs = zip(*(tokens[i:] for i in range(SHINGLE)), strict=False)  # the shorter ends it
    return set(map(str.encode, map(" ".join, runs)))


@dataclass(frozen=True, eq=False)
class Fingerprint:
    hashes: np.ndarray  # the MinHash values (uint64 from datasketch, kept as uint32)
    words: int

    def __eq__(self, other: object) -> bool:  # by value (an array's == is elementwise)
        return (
            isinstance(other, Fingerprint)
            and self.words == other.words
            and bool(np.array_equal(self.hashes, other.hashes))
        )

    __hash__ = None  # type: ignore[assignment]

    def to_bytes(self) -> bytes:
        return self.hashes.astype(np.uint32).tobytes()


def fingerprint(text: str, *, num_perm: int, min_words: int = 1) -> Fingerprint | None:
    """None for a text of fewer than `min_words` words (nothing worth comparing)."""
    tokens = words(text)
    found = shingles(tokens)
    if not found or len(tokens) < min_words:
        return None
    return Fingerprint(hashes=minhash(found, num_perm=num_perm), words=len(tokens))


def minhash(found: set[bytes], *, num_perm: int) -> np.ndarray:
    """datasketch's MinHash (scheme affine32, CRC-32 hashes) of the shingles, in one numpy
    pass: the same values as `MinHash.update_batch`, without building a MinHash a text
    (tests/campaigns/test_clustering.py compares the two)."""
    a, b = _permutations(num_perm)
    hv = np.fromiter(map(zlib.crc32, found), dtype=np.uint32, count=len(found))
    # MurmurHash3's 32-bit finaliser, as datasketch pre-mixes (uint32 arithmetic wraps).
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    values = (hv[:, None] * a + b).min(axis=0)
    values.flags.writeable = False  # shared by the index's caches
    return values


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch draws these per MinHash; drawn once, a fingerprint costs only the hashing."""
    a, b = MinHash(num_perm=num_perm, seed=SEED, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


@lru_cache(maxsize=16)
def band_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives around `threshold`
    (the same criterion as datasketch's MinHashLSH)."""
    grid = [i / 200 for i in range(201)]
    below = [s for s in grid if s < threshold]
    above = [s for s in grid if s >= threshold]
    best: tuple[float, int, int] = (float("inf"), 1, num_perm)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            # P(a pair of similarity s shares a band) = 1 - (1 - s**rows) ** bands, inline:
            # this runs once a process, but in the filing of its first message.
            fp = sum([1 - (1 - s**rows) ** bands for s in below]) / 200
            fn = sum([1 - (1 - (1 - s**rows) ** bands) for s in above]) / 200
            if fp + fn < best[0]:
                best = (fp + fn, bands, rows)
    return best[1], best[2]


def band_keys(hashes: np.ndarray, *, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key a band (fits a BIGINT), the band's number mixed in."""
    data = hashes.astype(np.uint32).tobytes()
    width = rows * 4  # bytes a band
    return [
        int.from_bytes(
            hashlib.blake2b(
                _BAND_PREFIX[band] + data[band * width : (band + 1) * width], digest_size=8
            ).digest(),
            "big",
            signed=True,
        )
        for band in range(bands)
    ]


_BAND_PREFIX = [band.to_bytes(2, "big") for band in range(1 << 10)]  # bands <= num_perm <= 512


Indexed = tuple[Fingerprint, list[int]]  # a text's fingerprint and its band keys


@lru_cache(maxsize=32)
def indexed(text: str, num_perm: int, min_words: int, threshold: float) -> Indexed | None:
    """The fingerprint and band keys of a text, None when it is too short to compare. A
    campaign is many copies of one letter: the copies that came unchanged are fingerprinted
    once (pure functions, so kept)."""
    found = fingerprint(text, num_perm=num_perm, min_words=min_words)
    if found is None:
        return None
    bands, rows = band_shape(threshold, num_perm)
    return found, list(dict.fromkeys(band_keys(found.hashes, bands=bands, rows=rows)))
