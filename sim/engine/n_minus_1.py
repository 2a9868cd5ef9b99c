"""N-1: every single failure at a checkpoint month, on each curve's P50 demand, all in one batch (DESIGN §9).

The single failures are shared-risk groups: every link (all its systems), every named system (on every
link it carries; systems a backbone table names, not the rule's own routes, which are their links),
every corridor (every system in it) and every open region."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import kernels
from sim.engine.batches import capacity_classes, in_state_groups, pack_bits, to_host_bool
from sim.engine.evaluate import Batch, Metrics, unique_keys

if TYPE_CHECKING:  # for annotations only: the calendar imports this module
    from sim.engine.calendar import Engine


def candidates(eng: Engine, base_bits: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(failure kind, name, bits) of every single failure not already out in ``base_bits``."""
    net, arrays = eng.network, eng.world.arrays
    named = [s for s in arrays.named_systems if s in set(arrays.seg_system)]
    out = []
    for what, names in (("link", arrays.link_ids), ("system", named), ("corridor", arrays.corridor_names),
                        ("region", arrays.node_ids)):
        for name in names:
            bits = net.bits_of(what, name)
            if not base_bits[bits].all():
                out.append((what, name, bits))
    return out


def n_minus_1(eng: Engine, t: int) -> list[dict]:
    """Every single failure (link, system, corridor, region) at month ``t``, on each curve's P50 demand."""
    net = eng.network
    base_bits = np.zeros(net.n_bits, bool)
    base_bits[net.region_bit0:] = eng.open_month > t
    failures = candidates(eng, base_bits)
    keys = [pack_bits(base_bits)]
    for _, _, b in failures:
        bits = base_bits.copy()
        bits[b] = True
        keys.append(pack_bits(bits))
    fingerprints = net.canonical(keys)
    unique, state_of = unique_keys(fingerprints)
    host = _n_minus_1_metrics(eng, t, unique, state_of)
    arrays = eng.world.arrays
    demand = _p50_demand(eng, t)
    total = demand.sum(axis=1)
    share = host["within_mw"].sum(axis=2) / np.where(total > 0, total, 1)[:, None]
    util = host["link_util"]
    rows = []
    for c, curve in enumerate(eng.curves):
        for u, (what, name, _) in enumerate(failures, start=1):
            worst = int(np.argmax(util[c, u]))
            rows.append(dict(curve=curve, month=eng.months[t], failure=f"{what}:{name}", failure_kind=what,
                             unmet_mw=float(host["unmet_mw"][c, u].sum() - host["unmet_mw"][c, 0].sum()),
                             slo_share_lost=float(share[c, 0] - share[c, u]),
                             max_link_utilisation=float(util[c, u, worst]), most_loaded_link=arrays.link_ids[worst]))
    return rows


def _p50_demand(eng: Engine, t: int) -> np.ndarray:
    return np.stack([eng.paths.market_median(c)[t] for c in range(len(eng.curves))])  # [C, M]


def _n_minus_1_metrics(eng: Engine, t: int, unique: list[bytes], state_of: np.ndarray) -> dict[str, np.ndarray]:
    """Every candidate state on each curve's P50 demand: metrics [C, U, ...] (host)."""
    demand = _p50_demand(eng, t)
    C, classes = len(eng.curves), capacity_classes(eng, t)

    def evaluate(states, rows, local):
        up = to_host_bool(states.region_up)[local]  # [u, N]
        cap = eng.capacity_mw[:, t, :][:, None, :] * up[None]  # [C, u, N]
        batch = Batch(np.tile(local, C), eng.xp.asarray(np.repeat(demand, len(rows), axis=0)),
                      eng.xp.asarray(cap.reshape(C * len(rows), -1)), np.repeat(classes, len(rows)), unique[0])
        met = eng.network.evaluate(states, batch)
        return Metrics(**{k: kernels.to_numpy(getattr(met, k)).reshape(C, len(rows), -1) for k in Metrics.FIELDS})

    metrics = in_state_groups(eng, unique, state_of, evaluate)
    return {name: getattr(metrics, name) for name in Metrics.FIELDS}
