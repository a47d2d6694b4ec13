"""numpy's ``default_rng(seed)`` draws used by lbforaging's reset, without numpy's per-call cost.

lbforaging places players and food with ``np_random.permutation(n)`` and scalar
``np_random.integers(low, high)`` calls, about 20-40 per episode. Each numpy call costs
1.3-2.3 us of argument handling and ``default_rng`` itself 13 us, which made the placement of
new episodes the larger part of a batched LBF step. Both classes here produce the same numbers
from the same seed: numpy's PCG64 (128-bit LCG, XSL-RR output, seeded through
``SeedSequence(seed).generate_state(4, uint64)``), its buffered 32-bit draws, Lemire's bounded
integers (``Generator.integers``, ``endpoint=False``) and the masked rejection of
``Generator.shuffle``. :class:`Draws` is one generator in plain Python (what the env used per
episode before; kept with its test); :class:`Streams` is many
at once on uint64 arrays (128-bit products in 32-bit halves), used by :mod:`.lbf_spawn`.
tests/test_lbf_batched.py checks :class:`Draws` and tests/test_lbf_spawn.py :class:`Streams`
against numpy, draw for draw.
"""

from __future__ import annotations

import numpy as np

_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128
_M128 = (1 << 128) - 1
_M64 = (1 << 64) - 1
_M32 = 0xFFFFFFFF


def seed_words(seeds: np.ndarray) -> np.ndarray:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` for every seed below 2**32, at once
    (numpy's hash mixing of one entropy word, on uint64 arrays holding 32-bit values): ``[E, 4]``."""
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
    return np.stack(words, 1).reshape(-1, 4)


def seed_states(seeds: np.ndarray) -> list[list[int]]:
    """:func:`seed_words` as Python ints, the argument of :class:`Draws`."""
    return seed_words(seeds).tolist()


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


# ---- many generators at once: the same draws on arrays, one row per generator ----

_U32 = np.uint64(_M32)
_S32 = np.uint64(32)


def _mulhi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The upper 64 bits of the 128-bit products ``a * b`` (uint64, in 32-bit halves)."""
    a0, a1, b0, b1 = a & _U32, a >> _S32, b & _U32, b >> _S32
    p01, p10 = a0 * b1, a1 * b0
    mid = ((a0 * b0) >> _S32) + (p01 & _U32) + (p10 & _U32)
    return a1 * b1 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)


def _mul128(xh, xl, yh, yl) -> tuple[np.ndarray, np.ndarray]:
    """``x * y mod 2**128`` on (high, low) uint64 halves."""
    return _mulhi(xl, yl) + xl * yh + xh * yl, xl * yl


def _add128(xh, xl, yh, yl) -> tuple[np.ndarray, np.ndarray]:
    lo = xl + yl
    return xh + yh + (lo < xl), lo


def _halves(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([v >> 64 for v in values], np.uint64), np.array([v & _M64 for v in values], np.uint64)


class Streams:
    """The 32-bit draws of ``E`` generators ``default_rng(seed)`` (the ``next32`` of
    :class:`Draws`, one row each), produced ahead in blocks: the ``k``-th PCG64 state is
    ``MULT**k * state + (MULT**(k-1) + ... + 1) * inc``, so a block is a few array operations
    over ``[E, k]`` instead of a Python loop. Rows draw independently, each at its own cursor,
    so a row's draws are its generator's whatever the other rows do."""

    def __init__(self, words: np.ndarray):
        """``words``: :func:`seed_words` of the seeds, ``[E, 4]``."""
        w = np.asarray(words, np.uint64).reshape(-1, 4)
        one = np.uint64(1)
        self._inc = ((w[:, 2] << one) | (w[:, 3] >> np.uint64(63)), (w[:, 3] << one) | one)
        mult = _halves([_MULT])
        state = _add128(*self._inc, w[:, 0], w[:, 1])  # 0 * MULT + inc, plus initstate
        self._state = _add128(*_mul128(*state, *mult), *self._inc)  # as Draws.__init__ leaves it
        self.u = np.zeros((len(w), 0), np.uint64)  # the draws made so far, [E, 2 * outputs]
        self.cur = np.zeros(len(w), np.int64)  # each row's next draw
        self._extend(16)

    def _extend(self, k: int) -> None:
        """``k`` more 64-bit outputs per row, as 2 ``k`` 32-bit draws (low half first)."""
        have = self.u.shape[1] // 2
        mult_k, add_k, m, a = [], [], pow(_MULT, have + 1, 1 << 128), 0
        for j in range(have + 1):  # a = MULT**have + ... + 1
            a = (a * _MULT + 1) & _M128 if j else 1
        for _ in range(k):
            mult_k.append(m)
            add_k.append(a)
            m, a = (m * _MULT) & _M128, (a * _MULT + 1) & _M128
        sh, sl = (x[:, None] for x in self._state)
        ih, il = (x[:, None] for x in self._inc)
        hi, lo = _add128(*_mul128(sh, sl, *_halves(mult_k)), *_mul128(ih, il, *_halves(add_k)))
        x, rot = hi ^ lo, hi >> np.uint64(58)  # PCG64's XSL-RR output
        out = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
        self.u = np.concatenate([self.u, np.stack([out & _U32, out >> _S32], -1).reshape(len(out), 2 * k)], 1)

    def next32(self, rows: np.ndarray) -> np.ndarray:
        cur = self.cur[rows]
        if cur.size and cur.max() >= self.u.shape[1]:
            self._extend(self.u.shape[1] // 2)
        self.cur[rows] = cur + 1
        return self.u[rows, cur]

    def integers(self, rows: np.ndarray, low, high) -> np.ndarray:
        """``Generator.integers(low, high)`` of each row (Lemire's method; no draw where
        ``high == low + 1``)."""
        low = np.broadcast_to(np.asarray(low, np.int64), rows.shape)
        excl = np.broadcast_to(np.asarray(high, np.int64), rows.shape) - low
        if excl.size and (excl.min() < 1 or excl.max() > _M32):
            raise ValueError(f"ranges {excl.min()}-{excl.max()} are not supported")
        out = low.copy()
        draw = np.flatnonzero(excl > 1)
        if not draw.size:
            return out
        r, e = rows[draw], excl[draw].astype(np.uint64)
        m = self.next32(r) * e
        threshold = (np.uint64(1 << 32) - e) % e
        redo = np.flatnonzero((m & _U32) < threshold)
        while redo.size:
            m[redo] = self.next32(r[redo]) * e[redo]
            redo = redo[(m[redo] & _U32) < threshold[redo]]
        out[draw] += (m >> _S32).astype(np.int64)
        return out

    def interval(self, rows: np.ndarray, top: int) -> np.ndarray:
        """:meth:`Draws.interval` of each row."""
        if top == 0:
            return np.zeros(rows.shape, np.int64)
        mask = np.uint64((1 << top.bit_length()) - 1)
        v = self.next32(rows) & mask
        redo = np.flatnonzero(v > top)
        while redo.size:
            v[redo] = self.next32(rows[redo]) & mask
            redo = redo[v[redo] > top]
        return v.astype(np.int64)

    def permutation(self, rows: np.ndarray, n: int) -> np.ndarray:
        """``Generator.permutation(n)`` of each row, ``[len(rows), n]``."""
        out = np.tile(np.arange(n, dtype=np.int64), (len(rows), 1))
        at = np.arange(len(rows))
        for i in range(n - 1, 0, -1):
            j = self.interval(rows, i)
            out[at, i], out[at, j] = out[at, j], out[at, i]
        return out
