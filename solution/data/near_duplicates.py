"""Near-duplicate images: resized or re-encoded copies that the content hash cannot see.

Each image gets a 64-bit perceptual hash (pHash: the signs of the 8x8 lowest-frequency DCT
coefficients of a 32x32 grey thumbnail, against their median). Copies keep their hash within
a few bits; images at most MAX_DISTANCE bits apart are treated as one picture, so folds put
them on the same side of every split.

MAX_DISTANCE was measured on synthetic faces, which look more alike than real photos: every copy
resized to 50-160% or re-encoded at JPEG quality 75 or more stayed within it, 97-99% of copies
re-encoded at quality 40-70 did, and none of 65,703 pairs of distinct faces came within it
(the closest were 4 bits apart, so a looser threshold would start joining different faces).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import cv2
import numpy as np

MAX_DISTANCE = 3
_BYTE_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def perceptual_hash(rgb: np.ndarray) -> str:
    """64-bit pHash of an RGB image, as 16 hex digits."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    thumbnail = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(thumbnail)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return f"{int(np.packbits(bits).view('>u8')[0]):016x}"


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # NumPy 2
        return np.bitwise_count(values)
    return _BYTE_POPCOUNT[values.view(np.uint8)].reshape(*values.shape, 8).sum(axis=-1)


def _chunk_keys(values: np.ndarray, chunks: int) -> list[np.ndarray]:
    """Each hash cut into `chunks` bit ranges, as integers (one array per range)."""
    edges = np.linspace(0, 64, chunks + 1).astype(int)
    return [(values >> np.uint64(low)) & np.uint64((1 << (high - low)) - 1) for low, high in zip(edges[:-1], edges[1:], strict=True)]


def _bucket_pairs(keys: np.ndarray) -> np.ndarray:
    """Codes i * len(keys) + j, i < j, of every two positions whose key is equal: in key order, each position paired
    with the ones `offset` places on that hold the same key, one vectorised pass per offset up to the largest bucket."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    codes = [np.empty(0, dtype=np.int64)]
    for offset in range(1, len(keys)):
        same = np.flatnonzero(sorted_keys[offset:] == sorted_keys[:-offset])
        if not len(same):
            break
        first, second = order[same], order[same + offset]
        codes.append(np.minimum(first, second) * len(keys) + np.maximum(first, second))
    return np.concatenate(codes)


def near_duplicate_pairs(hashes: Sequence[str], max_distance: int = MAX_DISTANCE) -> list[tuple[int, int, int]]:
    """(i, j, distance) with i < j for every two hashes at most `max_distance` bits apart; empty hashes never pair.

    Comparing every hash with every other is quadratic: 1.4 billion pairs for the competition's 55,000 images. Cut
    into max_distance + 2 bit ranges, two hashes that close agree exactly on at least two ranges (pigeonhole), so
    only hashes sharing the values of some two ranges (about 26 bits) are compared. Faces' hashes crowd a few values
    of any one 16-bit range (buckets of hundreds at 50,000 images), but rarely of two."""
    present = np.array([i for i, value in enumerate(hashes) if value], dtype=np.int64)
    if len(present) < 2:
        return []
    values = np.array([int(hashes[i], 16) for i in present], dtype=np.uint64)
    chunks = _chunk_keys(values, max_distance + 2)
    keys = [(chunks[a] << np.uint64(32)) | chunks[b] for a, b in combinations(range(len(chunks)), 2)]
    codes = np.unique(np.concatenate([_bucket_pairs(key) for key in keys]))
    first, second = codes // len(values), codes % len(values)
    distances = _popcount(values[first] ^ values[second])
    close = distances <= max_distance
    return [(int(present[i]), int(present[j]), int(bits)) for i, j, bits in zip(first[close], second[close], distances[close], strict=True)]


def merge_groups(groups: Sequence[str], pairs: Sequence[tuple[int, int, int]]) -> list[str]:
    """Each row's group after joining the groups that `pairs` connect; a merged group is named by its smallest member."""
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_of_group: dict[str, int] = {}
    for i, group in enumerate(groups):
        join(i, first_of_group.setdefault(group, i))
    for i, j, _ in pairs:
        join(i, j)
    names: dict[int, str] = {}
    for i, group in enumerate(groups):
        names[root(i)] = min(names.get(root(i), group), group)
    return [names[root(i)] for i in range(len(groups))]
