"""Choosing the array module: the one place CuPy is imported (lazily).

Every kernel is written once against an array module ``xp`` (NumPy or CuPy). The module is picked from
the inputs (:func:`xp_of`), so a kernel called on CuPy arrays runs on the GPU without a host copy, and
one called on NumPy arrays never imports CuPy at all.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("auto", "numpy", "cupy")
_notice_given = False


def _cupy_or_reason() -> tuple[ModuleType | None, str]:
    """Import CuPy and check that a GPU answers; return (module, "") or (None, why not)."""
    try:
        import cupy  # noqa: PLC0415 (lazy on purpose)
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return None, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy found no CUDA device"
    except Exception as exc:
        return None, f"CuPy cannot reach a CUDA device ({type(exc).__name__})"
    return cupy, ""


def get_xp(name: str = "auto") -> ModuleType:
    """Return the array module for a backend name.

    ``"numpy"`` -> NumPy. ``"cupy"`` -> CuPy, or a one-line RuntimeError when CuPy or a GPU is missing.
    ``"auto"`` -> CuPy when a GPU is usable, else NumPy with a one-line notice on stderr (given once).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name == "numpy":
        return np
    cupy, why = _cupy_or_reason()
    if cupy is not None:
        return cupy
    if name == "cupy":
        raise RuntimeError(f"backend 'cupy' unavailable: {why}; use --backend numpy")
    global _notice_given
    if not _notice_given:
        print(f"infrasim: no usable GPU ({why}); running on NumPy", file=sys.stderr)
        _notice_given = True
    return np


def is_cupy_array(a: Any) -> bool:
    """True for a CuPy array, decided without importing CuPy."""
    return type(a).__module__.split(".")[0] == "cupy"


def xp_of(*arrays: Any) -> ModuleType:
    """Array module of the inputs: CuPy if any input is a CuPy array, else NumPy."""
    if any(is_cupy_array(a) for a in arrays):
        import cupy  # noqa: PLC0415

        return cupy
    return np


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy copy of ``a`` (device-to-host copy for CuPy; no copy for NumPy input)."""
    if is_cupy_array(a):
        return a.get()
    return np.asarray(a)


def scatter_add(xp: ModuleType, target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` with repeated indices summed (1-D), on NumPy or CuPy."""
    if xp is np:
        target += np.bincount(index, weights=values, minlength=target.size)
    else:
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, index, values)


def unique_inverse(xp: ModuleType, keys: Any) -> tuple[Any, Any]:
    """``xp.unique(keys, return_inverse=True)`` for 1-D non-negative integer keys, by one plain sort of
    the keys packed with their positions: several times faster than the argsort ``unique`` does (a
    plain integer sort is vectorised, an argsort is not). Falls back to ``xp.unique`` when the packed
    values would not fit in 63 bits."""
    n = keys.size
    position_bits = max(1, int(n - 1).bit_length())
    if n == 0 or int(keys.max()).bit_length() + position_bits > 62:
        unique, inverse = xp.unique(keys, return_inverse=True)
        return unique, inverse.reshape(-1)
    packed = (keys.astype(xp.int64) << position_bits) | xp.arange(n, dtype=xp.int64)
    packed.sort()
    sorted_keys = packed >> position_bits
    new = xp.concatenate([xp.ones(1, dtype=bool), sorted_keys[1:] != sorted_keys[:-1]])
    inverse = xp.empty(n, dtype=xp.int64)
    inverse[packed & ((1 << position_bits) - 1)] = xp.cumsum(new) - 1
    return sorted_keys[new], inverse


def repeat_each(xp: ModuleType, counts: Any) -> tuple[Any, Any]:
    """For groups of ``counts[k]`` items laid end to end: each item's group ``k`` and its offset within
    the group (``xp.repeat(arange, counts)`` and ``arange(total) - start of the group``). CuPy's ``repeat``
    takes no array of counts, so on CuPy the groups come from a ``searchsorted`` on the cumulative counts
    (this CuPy branch has not yet run on a GPU)."""
    counts = xp.asarray(counts)
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if counts.size else 0
    if xp is np:
        group = np.repeat(np.arange(counts.size), counts)
    else:
        group = xp.searchsorted(ends, xp.arange(total), side="right")
    return group, xp.arange(total) - (ends - counts)[group]


def stable_argsort(xp: ModuleType, a: Any, axis: int = -1) -> Any:
    """``argsort`` that keeps equal keys in order, on both backends (CuPy's argsort is always stable
    and takes no ``kind``)."""
    return xp.argsort(a, axis=axis, kind="stable") if xp is np else xp.argsort(a, axis=axis)
