"""A sweep on a real Dask cluster: a scheduler and two worker processes on 127.0.0.1, one killed mid-sweep.

The runner stands in for the engine (it sleeps, then writes a summary); it logs each start and each
finish with its process id to files in a folder the test reads. The worker processes import it from this
file (``tests`` goes on their PYTHONPATH). Every process the test starts is killed at the end.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

distributed = pytest.importorskip("distributed", reason="the dist extra (Dask) is not installed")

from sim.sweep import STATUS_OK, STATUS_SKIPPED, run_sweep  # noqa: E402

TESTS = Path(__file__).resolve().parent
LOG_ENV = "INFRASIM_TEST_SWEEP_LOG"
RUN_S = 1.5  # long enough for the test to kill a worker while it runs a variant
COSTS = (30e6, 35e6, 40e6, 45e6, 50e6, 55e6)


def logging_runner(scenario, *, samples, seed, backend, out_dir, progress, max_memory_gb):
    """Logs 'started' and 'finished' (with its pid) around a sleep, and writes a minimal summary."""
    log = Path(os.environ[LOG_ENV])
    tag = f"{scenario.demand.cost_per_mw_usd:.0f}-{os.getpid()}"
    (log / f"started-{tag}").touch()
    time.sleep(RUN_S)
    out_dir.mkdir(parents=True)
    summary = {"horizon": {"start": "2025-01", "end": "2025-12"}, "samples": samples, "seed": seed,
               "new_zones": {}, "runtime_s": RUN_S}
    (out_dir / "summary.json").write_text(json.dumps(summary))
    with open(log / "finished.log", "a") as handle:  # one line per completed run, appended atomically
        handle.write(f"{scenario.demand.cost_per_mw_usd:.0f}\n")
    return SimpleNamespace(summary=summary)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead)."""
    dask_cli = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask_cli is None:
        pytest.skip("the `dask` command is not installed (dist extra)")
    log = tmp_path / "log"
    log.mkdir()
    env = {**os.environ, LOG_ENV: str(log),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--no-nanny", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
        client = distributed.Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=60)
        yield client, log, procs
        client.close()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_killed_worker_mid_sweep_every_variant_finishes_once_and_rerun_skips_all(cluster, tmp_path):
    client, log, procs = cluster
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: cluster sweep\nsamples: 2\nhorizon: {start: '2025-01', end: '2025-12'}\n")
    out = tmp_path / "out"
    vary = ["demand.cost_per_mw_usd=" + ",".join(f"{c:.0f}" for c in COSTS)]
    result: dict = {}

    def sweep():
        try:
            result["table"] = run_sweep(scenario, vary, out_dir=out, runner=logging_runner, client=client,
                                        progress=False)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            result["error"] = err

    thread = threading.Thread(target=sweep)
    thread.start()
    workers = {p.pid for p in procs[1:]}
    started = _wait_for(lambda: [f for f in log.glob("started-*") if int(f.name.rsplit("-", 1)[1]) in workers],
                        60, "a variant to start on a worker")
    victim = int(started[0].name.rsplit("-", 1)[1])
    os.killpg(victim, signal.SIGKILL)  # mid-run: the variant it held has not finished
    thread.join(timeout=120)
    assert not thread.is_alive(), "the sweep did not finish after a worker was killed"
    assert "error" not in result, result.get("error")
    table = result["table"]
    assert list(table.status) == [STATUS_OK] * len(COSTS), table.error.tolist()
    finished = (log / "finished.log").read_text().split()
    assert sorted(finished) == sorted(f"{c:.0f}" for c in COSTS)  # each variant ran to the end exactly once
    assert len([p for p in (out / "variants").iterdir() if not p.name.endswith(".partial")]) == len(COSTS)

    again = run_sweep(scenario, vary, out_dir=out, runner=logging_runner, client=client, progress=False)
    assert list(again.status) == [STATUS_SKIPPED] * len(COSTS)
    assert (log / "finished.log").read_text().split() == finished  # nothing ran again
