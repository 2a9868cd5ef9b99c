"""infrasim kernels: pure, batched array functions that run unchanged on NumPy and CuPy.

Leading axes are a batch (Monte Carlo samples x failure states x time); the array module is taken from
the inputs (:func:`xp_of`) or chosen once by name (:func:`get_xp`). This package never imports simpy,
networkx, yaml, pandas or the ``sim`` package.
"""
from .apsp import apsp, apsp_repair
from .assign import Assignment, assign_by_latency
from .backend import get_xp, to_numpy, xp_of
from .queueing import erlang_b, erlang_c, mm1_sojourn, mm1_wait, mmc_wait, mmc_wait_quantile
from .routing import link_loads, unrouted
from .sampling import sample_growth_paths

__all__ = [
    "Assignment", "apsp", "apsp_repair", "assign_by_latency", "erlang_b", "erlang_c", "get_xp",
    "link_loads", "mm1_sojourn", "mm1_wait", "mmc_wait", "mmc_wait_quantile", "sample_growth_paths",
    "to_numpy", "unrouted", "xp_of",
]
