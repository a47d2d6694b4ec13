"""numpy's ``default_rng(seed)`` draws used by lbforaging's reset, in plain Python (3-4x faster).

lbforaging places players and food with ``np_random.permutation(n)`` and scalar
``np_random.integers(low, high)`` calls, about 20-40 per episode. Each numpy call costs
1.3-2.3 us of argument handling and ``default_rng`` itself 13 us, which made the placement of
new episodes the larger part of a batched LBF step. :class:`Draws` produces the same numbers
from the same seed: numpy's PCG64 (128-bit LCG, XSL-RR output, seeded through
``SeedSequence(seed).generate_state(4, uint64)``, also in Python), its buffered 32-bit draws, Lemire's bounded
integers (``Generator.integers``, ``endpoint=False``) and the masked rejection of
``Generator.shuffle``. tests/test_lbf_batched.py checks it against numpy draw for draw.
"""

from __future__ import annotations

import numpy as np

_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128
_M128 = (1 << 128) - 1
_M64 = (1 << 64) - 1
_M32 = 0xFFFFFFFF


def seed_states(seeds: np.ndarray) -> list[list[int]]:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` for every seed below 2**32, at once
    (numpy's hash mixing of one entropy word, on uint64 arrays holding 32-bit values)."""
    seeds = np.asarray(seeds, np.uint64)
    if seeds.size and int(seeds.max()) > _M32:
        raise ValueError("seeds must be below 2**32")
    m32 = np.uint64(_M32)
    const = [np.uint64(0x43B0D7E5)]

    def hashmix(value):
        value = value ^ const[0]
        const[0] = np.uint64((int(const[0]) * 0x931E8875) & _M32)
        value = (value * const[0]) & m32
        return value ^ (value >> np.uint64(16))

    def mix(x, y):
        r = (np.uint64(0xCA01F9DD) * x - np.uint64(0x4973F715) * y) & m32
        return r ^ (r >> np.uint64(16))

    zero = np.zeros_like(seeds)
    pool = [hashmix(seeds)] + [hashmix(zero) for _ in range(3)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    out32, c = [], 0x8B51F9DD
    for i in range(8):
        value = pool[i % 4] ^ np.uint64(c)
        c = (c * 0x58F38DED) & _M32
        value = (value * np.uint64(c)) & m32
        out32.append(value ^ (value >> np.uint64(16)))
    words = [out32[2 * k] | (out32[2 * k + 1] << np.uint64(32)) for k in range(4)]
    return np.stack(words, 1).tolist()


class Draws:
    """The draws of ``numpy.random.default_rng(seed)`` for the calls lbforaging makes:
    ``Draws(seed_states([seed])[0])``."""

    __slots__ = ("state", "inc", "spare")

    def __init__(self, state: list[int]):
        """``state``: the seed's :func:`seed_states` entry."""
        s0, s1, i0, i1 = state
        initstate, initseq = (s0 << 64) | s1, (i0 << 64) | i1
        self.inc = ((initseq << 1) | 1) & _M128
        state = self.inc  # 0 * MULT + inc
        state = (state + initstate) & _M128
        self.state = (state * _MULT + self.inc) & _M128
        self.spare = None  # the upper half of the last 64-bit draw, for the next 32-bit one

    def next64(self) -> int:
        state = self.state = (self.state * _MULT + self.inc) & _M128
        x = ((state >> 64) ^ state) & _M64
        rot = state >> 122
        return ((x >> rot) | (x << ((-rot) & 63))) & _M64

    def next32(self) -> int:
        if self.spare is not None:
            out, self.spare = self.spare, None
            return out
        x = self.next64()
        self.spare = x >> 32
        return x & _M32

    def integers(self, low: int, high: int) -> int:
        """``Generator.integers(low, high)`` (int64, high exclusive) for a range below 2**32."""
        rng = high - 1 - low
        if rng == 0:
            return low
        if not 0 < rng < _M32:
            raise ValueError(f"range [{low}, {high}) is not supported")
        excl = rng + 1
        m = self.next32() * excl
        if (m & _M32) < excl:
            threshold = (_M32 - rng) % excl
            while (m & _M32) < threshold:
                m = self.next32() * excl
        return low + (m >> 32)

    def interval(self, top: int) -> int:
        """numpy's ``random_interval(top)``: uniform in ``[0, top]`` by masked rejection."""
        if top == 0:
            return 0
        mask = (1 << top.bit_length()) - 1
        while True:
            value = self.next32() & mask
            if value <= top:
                return value

    def permutation(self, n: int) -> list[int]:
        """``Generator.permutation(n)`` (a Fisher-Yates shuffle of ``arange(n)``)."""
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.interval(i)
            out[i], out[j] = out[j], out[i]
        return out
