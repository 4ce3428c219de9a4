"""numpy's seeding and PCG64 draws, compiled: a generator made, seeded and drawn from inside a kernel.

The reference trainer seeds every episode's env (and mediated env) with a new
``np.random.default_rng(seed)``: ``SeedSequence`` hashing, then PCG64's
128-bit state. Made in Python that costs ~25 us an episode, more than a
compiled episode takes, so the engine makes them here, with the same
arithmetic (numpy's ``bit_generator.pyx``, ``pcg64.h``, ``distributions.c``
and ``Generator.choice``) and the same numbers, checked against numpy in
``tests/test_engine.py``. A generator is an int64/uint64 array
``[state high, state low, increment high, increment low, has a buffered half, the half]``
(numpy's ``bit_generator.state``); only small entropy (every word < 2**32) is
supported, as fairlead's seeds are.
"""

from __future__ import annotations

import numba
import numpy as np

_M32 = np.uint64(0xFFFFFFFF)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_POOL = 4  # SeedSequence's pool size (words)
_MULT_HIGH, _MULT_LOW = np.uint64(2549297995355413924), np.uint64(4865540595714422341)  # PCG64's multiplier
STATE_WORDS = 6


@numba.njit(cache=True)
def _hashmix(value, hash_const):
    value = (value ^ hash_const[0]) & _M32
    hash_const[0] = (hash_const[0] * _MULT_A) & _M32
    value = (value * hash_const[0]) & _M32
    return value ^ (value >> np.uint64(16))


@numba.njit(cache=True)
def _mix(x, y):
    result = (_MIX_L * x - _MIX_R * y) & _M32
    return result ^ (result >> np.uint64(16))


@numba.njit(cache=True)
def seed_sequence_words(entropy, n_words):
    """``SeedSequence(list(entropy)).generate_state(n_words)`` (uint32 words), every entropy word < 2**32."""
    pool, hash_const = np.zeros(_POOL, np.uint64), np.full(1, _INIT_A, np.uint64)
    for i in range(_POOL):
        pool[i] = _hashmix(np.uint64(entropy[i]) if i < entropy.shape[0] else np.uint64(0), hash_const)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], hash_const))
    for i_src in range(_POOL, entropy.shape[0]):
        for i_dst in range(_POOL):
            pool[i_dst] = _mix(pool[i_dst], _hashmix(np.uint64(entropy[i_src]), hash_const))
    words, b = np.zeros(n_words, np.uint64), _INIT_B
    for i in range(n_words):
        value = (pool[i % _POOL] ^ b) & _M32
        b = (b * _MULT_B) & _M32
        value = (value * b) & _M32
        words[i] = value ^ (value >> np.uint64(16))
    return words


@numba.njit(cache=True)
def _mulhi(a, b):
    """The high 64 bits of the 128-bit product ``a * b``."""
    a_lo, a_hi, b_lo, b_hi = a & _M32, a >> np.uint64(32), b & _M32, b >> np.uint64(32)
    low = a_lo * b_lo
    mid1, mid2 = a_lo * b_hi, a_hi * b_lo
    carry = ((low >> np.uint64(32)) + (mid1 & _M32) + (mid2 & _M32)) >> np.uint64(32)
    return a_hi * b_hi + (mid1 >> np.uint64(32)) + (mid2 >> np.uint64(32)) + carry


@numba.njit(cache=True)
def _step(g):
    """PCG64's state transition ``state <- state * MULT + inc`` (mod 2**128)."""
    high, low = g[0], g[1]
    new_low = low * _MULT_LOW
    new_high = high * _MULT_LOW + low * _MULT_HIGH + _mulhi(low, _MULT_LOW)
    g[1] = new_low + g[3]
    g[0] = new_high + g[2] + (np.uint64(1) if g[1] < new_low else np.uint64(0))


@numba.njit(cache=True)
def seed_generator(entropy, g):
    """``g`` becomes ``np.random.default_rng(list(entropy))``'s state (PCG64 seeded by a SeedSequence)."""
    words = seed_sequence_words(entropy, 8)
    seed_high, seed_low = words[0] | (words[1] << np.uint64(32)), words[2] | (words[3] << np.uint64(32))
    inc_high, inc_low = words[4] | (words[5] << np.uint64(32)), words[6] | (words[7] << np.uint64(32))
    g[0], g[1] = np.uint64(0), np.uint64(0)
    g[2] = (inc_high << np.uint64(1)) | (inc_low >> np.uint64(63))
    g[3] = (inc_low << np.uint64(1)) | np.uint64(1)
    g[4], g[5] = np.uint64(0), np.uint64(0)
    _step(g)
    low = g[1] + seed_low
    g[0] = g[0] + seed_high + (np.uint64(1) if low < g[1] else np.uint64(0))
    g[1] = low
    _step(g)


@numba.njit(cache=True)
def next_uint64(g):
    """PCG64's next 64-bit output (XSL-RR of the stepped state)."""
    _step(g)
    value, rot = g[0] ^ g[1], g[0] >> np.uint64(58)
    return (value >> rot) | (value << ((np.uint64(64) - rot) & np.uint64(63)))


@numba.njit(cache=True)
def next_uint32(g):
    """numpy's ``next_uint32``: the buffered high half of the last 64-bit draw, else a new draw's low half."""
    if g[4]:
        g[4] = np.uint64(0)
        return g[5]
    value = next_uint64(g)
    g[4], g[5] = np.uint64(1), value >> np.uint64(32)
    return value & _M32


@numba.njit(cache=True)
def integers(g, high):
    """``Generator.integers(0, high)`` (and ``choice(high)``) for ``1 <= high < 2**32``: Lemire's method."""
    if high == 1:
        return 0  # numpy draws nothing for a range of one
    excl = np.uint64(high)
    threshold = (_M32 - (excl - np.uint64(1))) % excl
    while True:
        product = next_uint32(g) * excl
        if (product & _M32) >= threshold:
            return np.int64(product >> np.uint64(32))


@numba.njit(cache=True)
def choice_without_replacement(g, population, out):
    """``Generator.choice(population, out.size, replace=False)`` for a small population: Floyd's algorithm, shuffled."""
    size = out.shape[0]
    for j in range(population - size, population):
        value = integers(g, j + 1)
        for chosen in range(j - population + size):
            if out[chosen] == value:
                value = j
                break
        out[j - population + size] = value
    for i in range(size - 1, 0, -1):  # numpy's _shuffle_int
        j = integers(g, i + 1)
        out[i], out[j] = out[j], out[i]
