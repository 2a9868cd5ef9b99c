"""One network evaluation by hand: a market whose nearest region is not its access region."""
from __future__ import annotations

import numpy as np
import pytest

from sim.engine.evaluate import Batch, Network
from sim.model.network import NetworkArrays


def line_network(weight_01_ms: float, east_west_1_to_0_gbps: float = 0.0) -> Network:
    """Regions 0 - 1 - 2 on a line; one market whose access leg is shortest to region 1."""
    w = np.full((3, 3), np.inf)
    np.fill_diagonal(w, 0.0)
    w[0, 1] = w[1, 0] = weight_01_ms
    w[1, 2] = w[2, 1] = 5.0
    arc = -np.ones((3, 3), dtype=np.int64)
    arc[0, 1], arc[1, 0], arc[1, 2], arc[2, 1] = 0, 1, 2, 3
    arrays = NetworkArrays(["r0", "r1", "r2"], np.zeros(3), np.zeros(3), w, np.array([0, 1]), np.array([1, 2]),
                           ["l01", "l12"], np.array(["terrestrial"] * 2), np.ones(2), np.full(2, 100.0), arc)
    access_rtt_ms = np.array([[3.0, 1.0, 9.0]])  # [M, N]

    def east_west(capacity_mw):
        flows = np.zeros((capacity_mw.shape[0], 3, 3))
        flows[:, 1, 0] = east_west_1_to_0_gbps
        return flows

    return Network(arrays, access_rtt_ms, np, slo_ms=50.0, user_gbps_per_mw=0.5, east_west=east_west,
                   mean_packet_bytes=1000.0)


def evaluate(net: Network, demand_mw: float, capacity_mw: list[float]):
    key = bytes(1)  # 2 links + 3 regions: nothing out of service
    states = net.states(net.canonical([key]))
    return net.evaluate(states, Batch(np.zeros(1, dtype=np.int64), np.array([[demand_mw]]),
                                      np.array([capacity_mw])))


def test_a_tie_with_a_lower_numbered_region_is_served_there_and_travels():
    # a 0 ms link makes region 0 exactly as near as the access region 1; the stable order puts 0 first
    net = line_network(0.0)
    metrics = evaluate(net, 10.0, [20.0, 20.0, 20.0])
    assert metrics.region_load_mw[0] == pytest.approx([10.0, 0.0, 0.0])
    assert metrics.spilled_mw[0, 0] == pytest.approx(10.0)  # served away from its access region
    # its user traffic goes back to the access region over arc 0 -> 1 (the busier direction of l01)
    assert metrics.link_load_gbps[0] == pytest.approx([5.0, 0.0])
    assert metrics.within_mw[0, 0] + metrics.late_mw[0, 0] + metrics.unmet_mw[0, 0] == pytest.approx(10.0)


def test_without_a_tie_the_access_region_serves_first_and_nothing_travels():
    net = line_network(2.0)
    metrics = evaluate(net, 30.0, [20.0, 20.0, 20.0])
    assert metrics.region_load_mw[0] == pytest.approx([10.0, 20.0, 0.0])  # 10 MW spill to region 0 (4 ms)
    assert metrics.spilled_mw[0, 0] == pytest.approx(10.0)
    assert metrics.link_load_gbps[0] == pytest.approx([5.0, 0.0])
    # mean RTT: 20 MW at the 1 ms access leg, 10 MW at 1 + 2 x 2 ms plus queueing there and back
    assert metrics.rtt_weighted[0, 0] > 20.0 * 1.0 + 10.0 * 5.0
    assert metrics.within_mw[0, 0] == pytest.approx(30.0)


def test_a_trip_queues_both_ways_on_its_path():
    """10 MW spill 1 -> 0: 5 Gbit/s of responses on arc 0 -> 1, 60 Gbit/s of east-west on arc 1 -> 0.
    Requests retrace the response path, so the trip waits on both arcs (M/M/1 of 1000-byte packets)."""
    net = line_network(2.0, east_west_1_to_0_gbps=60.0)
    metrics = evaluate(net, 30.0, [20.0, 20.0, 20.0])
    pps_per_gbps = 1e9 / 8000.0
    mu = 100.0 * pps_per_gbps

    def wait_ms(gbps):
        lam = gbps * pps_per_gbps
        return 1e3 * lam / (mu * (mu - lam))

    assert metrics.link_load_gbps[0] == pytest.approx([60.0, 0.0])
    queue_ms = wait_ms(5.0) + wait_ms(60.0)
    assert metrics.link_delay_ms[0, 0] == pytest.approx(wait_ms(60.0), rel=1e-12)
    assert metrics.rtt_weighted[0, 0] == pytest.approx(20.0 * 1.0 + 10.0 * (5.0 + queue_ms), rel=1e-12)
