"""numpy's seeding and PCG64 draws, compiled: a generator made, seeded and drawn from inside a kernel.

The reference trainer seeds every episode's env (and mediated env) with a new
``np.random.default_rng(seed)``: ``SeedSequence`` hashing, then PCG64's
128-bit state. Made in Python that costs ~25 us an episode, more than a
compiled episode takes, so the engine makes them here, with the same
arithmetic (numpy's ``bit_generator.pyx``, ``pcg64.h``, ``distributions.c``
and ``Generator.choice``) and the same numbers, checked against numpy in
``tests/test_engine.py``. Generators are the rows of a uint64 array ``g``,
each ``[state high, state low, increment high, increment low, has a buffered half, the half]``
(numpy's ``bit_generator.state``, :func:`state_row`); a function takes ``g``
and the row ``r`` it draws from (a row view made in a loop would cost numba a
reference count). The learners' generators live here too while a kernel runs
(:func:`random` is ``Generator.random``), so a kernel takes no Generator
objects and compiles once for any number of players. Entropy words must be
< 2**32, as fairlead's seeds are.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

_M32 = np.uint64(0xFFFFFFFF)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_POOL = 4  # SeedSequence's pool size (words)
_MULT_HIGH, _MULT_LOW = np.uint64(2549297995355413924), np.uint64(4865540595714422341)  # PCG64's multiplier
STATE_WORDS = 6
_MASK64 = (1 << 64) - 1  # a Python int: state_row splits numpy's 128-bit state words


def _jit(**options):
    """numba's njit; with numba's JIT disabled (``NUMBA_DISABLE_JIT=1``, for debugging) plain Python, whose
    numpy uint64 arithmetic wraps around as the compiled one does, but warns: quieted here."""

    def compile(function):
        if not numba.config.DISABLE_JIT:
            return numba.njit(cache=True, **options)(function)

        @functools.wraps(function)
        def quiet(*args):
            with np.errstate(over="ignore"):
                return function(*args)

        return quiet

    return compile


@_jit()
def _hashmix(value, hash_const):
    value = (value ^ hash_const[0]) & _M32
    hash_const[0] = (hash_const[0] * _MULT_A) & _M32
    value = (value * hash_const[0]) & _M32
    return value ^ (value >> np.uint64(16))


@_jit()
def _mix(x, y):
    result = (_MIX_L * x - _MIX_R * y) & _M32
    return result ^ (result >> np.uint64(16))


@_jit()
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


@_jit(inline="always")
def _mulhi(a, b):
    """The high 64 bits of the 128-bit product ``a * b``."""
    a_lo, a_hi, b_lo, b_hi = a & _M32, a >> np.uint64(32), b & _M32, b >> np.uint64(32)
    low = a_lo * b_lo
    mid1, mid2 = a_lo * b_hi, a_hi * b_lo
    carry = ((low >> np.uint64(32)) + (mid1 & _M32) + (mid2 & _M32)) >> np.uint64(32)
    return a_hi * b_hi + (mid1 >> np.uint64(32)) + (mid2 >> np.uint64(32)) + carry


@_jit(inline="always")
def _step(g, r):
    """PCG64's state transition ``state <- state * MULT + inc`` (mod 2**128)."""
    high, low = g[r, 0], g[r, 1]
    new_low = low * _MULT_LOW
    new_high = high * _MULT_LOW + low * _MULT_HIGH + _mulhi(low, _MULT_LOW)
    g[r, 1] = new_low + g[r, 3]
    g[r, 0] = new_high + g[r, 2] + (np.uint64(1) if g[r, 1] < new_low else np.uint64(0))


@_jit()
def seed_generator(entropy, g, r):
    """Generator ``r`` becomes ``np.random.default_rng(list(entropy))`` (PCG64 seeded by a SeedSequence)."""
    words = seed_sequence_words(entropy, 8)
    seed_high, seed_low = words[0] | (words[1] << np.uint64(32)), words[2] | (words[3] << np.uint64(32))
    inc_high, inc_low = words[4] | (words[5] << np.uint64(32)), words[6] | (words[7] << np.uint64(32))
    g[r, 0], g[r, 1] = np.uint64(0), np.uint64(0)
    g[r, 2] = (inc_high << np.uint64(1)) | (inc_low >> np.uint64(63))
    g[r, 3] = (inc_low << np.uint64(1)) | np.uint64(1)
    g[r, 4], g[r, 5] = np.uint64(0), np.uint64(0)
    _step(g, r)
    low = g[r, 1] + seed_low
    g[r, 0] = g[r, 0] + seed_high + (np.uint64(1) if low < g[r, 1] else np.uint64(0))
    g[r, 1] = low
    _step(g, r)


@_jit(inline="always")
def next_uint64(g, r):
    """PCG64's next 64-bit output (XSL-RR of the stepped state)."""
    _step(g, r)
    value, rot = g[r, 0] ^ g[r, 1], g[r, 0] >> np.uint64(58)
    return (value >> rot) | (value << ((np.uint64(64) - rot) & np.uint64(63)))


@_jit(inline="always")
def next_uint32(g, r):
    """numpy's ``next_uint32``: the buffered high half of the last 64-bit draw, else a new draw's low half."""
    if g[r, 4]:
        g[r, 4] = np.uint64(0)
        return g[r, 5]
    value = next_uint64(g, r)
    g[r, 4], g[r, 5] = np.uint64(1), value >> np.uint64(32)
    return value & _M32


@_jit(inline="always")
def random(g, r):
    """``Generator.random()``: a double in [0, 1) from the top 53 bits of a 64-bit draw."""
    return np.float64(next_uint64(g, r) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@_jit(inline="always")
def integers(g, r, high):
    """``Generator.integers(0, high)`` (and ``choice(high)``) for ``1 <= high < 2**32``: Lemire's method."""
    if high == 1:
        return 0  # numpy draws nothing for a range of one
    excl = np.uint64(high)
    threshold = (_M32 - (excl - np.uint64(1))) % excl
    while True:
        product = next_uint32(g, r) * excl
        if (product & _M32) >= threshold:
            return np.int64(product >> np.uint64(32))


@_jit()
def choice_without_replacement(g, r, population, out):
    """``Generator.choice(population, out.size, replace=False)``, by numpy's two algorithms.

    More than a fiftieth of a population over 10,000: the tail of a shuffled
    ``0 .. population - 1``; else Floyd's algorithm, then shuffled.
    """
    size = out.shape[0]
    if population > 10_000 and size > population // 50:
        pool = np.arange(population)
        _shuffle(g, r, pool, population, max(population - size, 1))
        out[:] = pool[population - size :]
        return
    for j in range(population - size, population):
        value = integers(g, r, j + 1)
        for chosen in range(j - population + size):
            if out[chosen] == value:
                value = j
                break
        out[j - population + size] = value
    _shuffle(g, r, out, size, 1)


@_jit()
def _shuffle(g, r, values, n, first):
    """numpy's ``_shuffle_int``: Fisher-Yates over ``values[first:n]``, from the end."""
    for i in range(n - 1, first - 1, -1):
        j = integers(g, r, i + 1)
        values[i], values[j] = values[j], values[i]


def state_row(rng: np.random.Generator) -> np.ndarray:
    """A numpy PCG64 Generator's state as a row of ``g``."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"the compiled engine draws like PCG64, not {state['bit_generator']}")
    words = state["state"]["state"], state["state"]["inc"]
    return np.array(
        [
            words[0] >> 64,
            words[0] & _MASK64,
            words[1] >> 64,
            words[1] & _MASK64,
            state["has_uint32"],
            state["uinteger"],
        ],
        np.uint64,
    )


def set_state(rng: np.random.Generator, row: np.ndarray) -> None:
    """Put a row of ``g`` back into the numpy Generator it came from."""
    high, low, inc_high, inc_low, has_uint32, uinteger = (int(x) for x in row)
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": high << 64 | low, "inc": inc_high << 64 | inc_low},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }
