"""Batches of the evaluation: elements (curve x sample x state) in chunks and state groups that fit the
memory budget, and the time average of a month's elements per sample.

The calendar (:mod:`sim.engine.calendar`) and N-1 (:mod:`sim.engine.n_minus_1`) both evaluate through
these helpers; ``eng`` is the :class:`~sim.engine.calendar.Engine` of the run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse

import kernels
from sim.engine.evaluate import Batch, Metrics

if TYPE_CHECKING:  # for annotations only: the calendar imports this module
    from sim.engine.calendar import Engine


def evaluate_states(eng: Engine, fingerprints: list[bytes], t: int, sample_ids: np.ndarray,
                    state_ids: np.ndarray, reference: bytes | None = None) -> Metrics:
    """Evaluate (curve x element) for elements in the given distinct states; host arrays [C, E, ...].

    Elements go in chunks that fit the other half of the memory budget (shared by the months evaluated
    side by side), states in groups (:func:`in_state_groups`), so peak memory is set by
    ``max_memory_gb``, not by the batch. ``reference``: see :class:`sim.engine.evaluate.Batch`.
    """
    return in_state_groups(eng, fingerprints, state_ids, lambda states, rows, local: evaluate_chunks(
        eng, states, t, sample_ids[rows], local, reference))


def in_state_groups(eng: Engine, fingerprints: list[bytes], state_ids: np.ndarray, evaluate) -> Metrics:
    """Run ``evaluate(states, rows, local_state_ids) -> Metrics [C, len(rows), ...]`` over groups of
    distinct states whose stacked arrays fit the cache budget (each month in flight gets its share),
    and put each group's elements back in place: host arrays [C, E, ...]."""
    per_group = max(1, eng.network.cache_states // (2 * eng.threads))
    if len(fingerprints) <= per_group:
        return evaluate(eng.network.states(fingerprints), np.arange(len(state_ids)), state_ids)
    C, E = len(eng.curves), len(state_ids)
    out: dict[str, np.ndarray] = {}
    for lo in range(0, len(fingerprints), per_group):
        rows = np.flatnonzero((state_ids >= lo) & (state_ids < lo + per_group))
        part = evaluate(eng.network.states(fingerprints[lo: lo + per_group]), rows, state_ids[rows] - lo)
        for name in Metrics.FIELDS:
            values = getattr(part, name)
            if name not in out:
                out[name] = np.empty((C, E, values.shape[2]), dtype=values.dtype)
            out[name][:, rows] = values
    return Metrics(**out)


def evaluate_chunks(eng: Engine, states, t: int, sample_ids: np.ndarray, state_ids: np.ndarray,
                    reference: bytes | None = None) -> Metrics:
    """Evaluate (curve x element) in chunks sized by the memory budget; host arrays [C, E, ...]."""
    xp, net = eng.xp, eng.network
    C, E = len(eng.curves), len(sample_ids)
    n, m, arcs = net.n_regions, net.n_markets, 2 * net.n_links
    per_element = 8 * (4 * m * min(n, 8) + 8 * n + 6 * arcs) + 256  # float64 temporaries of one element
    budget = eng.max_memory_gb * 2**30 * 0.5 / eng.threads  # the other half of the budget, per month in flight
    chunk = max(1, int(budget / per_element) // C)
    region_up = to_host_bool(states.region_up)
    classes = capacity_classes(eng, t)
    outs = []
    for lo in range(0, E, chunk):
        ids, st = sample_ids[lo: lo + chunk], state_ids[lo: lo + chunk]
        demand = xp.asarray(eng.paths.market_at(t, ids).reshape(C * len(ids), m))
        cap = eng.capacity_mw[:, t, :][:, None, :] * region_up[st][None]
        batch = Batch(np.tile(st, C), demand, xp.asarray(cap.reshape(C * len(ids), n)), np.repeat(classes, len(ids)),
                      reference, twins(C, ids, st, states.topology))
        metrics = net.evaluate(states, batch)
        outs.append({k: kernels.to_numpy(getattr(metrics, k)).reshape(C, len(ids), -1) for k in Metrics.FIELDS})
    return Metrics(**{k: np.concatenate([o[k] for o in outs], axis=1) for k in Metrics.FIELDS})


def twins(C: int, sample_ids: np.ndarray, state_ids: np.ndarray, topology: np.ndarray | None) -> np.ndarray | None:
    """For the C x E elements of a chunk (curve-major): the first element with the same curve, sample and
    topology (routes and regions in service). Such elements differ only in link capacities (a failed
    system on a link that stays up), so they share the demand, the region capacity and the assignment."""
    if topology is None:
        return None
    E = len(sample_ids)
    key = np.stack([np.repeat(np.arange(C), E), np.tile(sample_ids, C), np.tile(topology[state_ids], C)], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first[inverse.ravel()]


def capacity_classes(eng: Engine, t: int) -> np.ndarray:
    """Per curve: the first curve with the same capacity in month t (curves often share a build plan)."""
    caps = eng.capacity_mw[:, t, :]
    return np.array([next(k for k in range(c + 1) if np.array_equal(caps[k], caps[c])) for c in range(len(caps))])


def to_host_bool(a) -> np.ndarray:
    return kernels.to_numpy(a).astype(bool)


class TimeAverage:
    """Sum of weight x value per sample, ``[C, E, K] -> [C, S, K]``; inf stays inf (an overload).

    The weights form a sparse [S, E] matrix (made once per month, shared by every metric): element e
    adds ``weights[e]`` of itself to its sample's row, so the average is one sparse-dense product per
    curve (several times faster than ``np.add.reduceat``). Zero weights are left out of the matrix, so
    an element that held for no time cannot turn an inf into NaN.
    """

    def __init__(self, sample_ids: np.ndarray, weights: np.ndarray, S: int):
        held = np.flatnonzero(weights > 0)
        self.matrix = scipy.sparse.csr_matrix((weights[held], (sample_ids[held], held)),
                                              shape=(S, len(sample_ids)))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.stack([self.matrix @ values[c] for c in range(values.shape[0])])


def pack_bits(bits: np.ndarray) -> bytes:
    """A state key: bit i of the mask is bit i % 8 of byte i // 8 (the bytes of a little-endian int)."""
    return np.packbits(bits, bitorder="little").tobytes()
