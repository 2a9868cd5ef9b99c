"""Monte Carlo demand growth paths (DESIGN §5)."""
from __future__ import annotations

from types import ModuleType

import numpy as np


def sample_growth_paths(rng: np.random.Generator, base_growth, sigma: float, n_samples: int,
                        xp: ModuleType | None = None):
    """Cumulative demand multipliers per sample and year, shape ``[n_samples, T]``.

    ``base_growth[t]`` is the calibrated growth factor of year t over year t-1 (e.g. 1.241 for +24.1 %).
    Each sample s and year t draws a shock ``exp(sigma * eps[s, t])`` with ``eps`` standard normal, so::

        multipliers[s, t] = prod_{k <= t} base_growth[k] * exp(sigma * eps[s, k])

    and demand in year t = demand at the start x ``multipliers[s, t]``. The shock's median is 1 and the
    sum of normals has median 0, so the median (P50) path equals ``cumprod(base_growth)``: the calibrated
    curve. The mean lies above it by ``exp(sigma^2 t / 2)``.

    ``eps`` is drawn on the host from ``rng`` (identical draws on every backend) and moved to ``xp`` once.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    growth = np.asarray(base_growth, dtype=np.float64).reshape(-1)
    if np.any(~np.isfinite(growth)) or np.any(growth <= 0):
        raise ValueError("base_growth must be finite and > 0")
    eps = rng.standard_normal((int(n_samples), growth.size))
    paths = np.cumprod(growth[None, :] * np.exp(sigma * eps), axis=1)
    if xp is None or xp is np:
        return paths
    return xp.asarray(paths)
