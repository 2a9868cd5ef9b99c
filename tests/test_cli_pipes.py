"""Every command that prints stops quietly when its reader goes away (``infrasim regions | head -3``).

The reader here is the harshest one: the read end of the pipe is closed before the command writes
anything, so every write to stdout fails with EPIPE. The command must end without a traceback, with the
shell's code for a tool stopped by SIGPIPE (141) or, when everything was written before the reader left
(the output fitted in the pipe), 0; and whatever it writes to files must still be written.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import EXIT_BROKEN_PIPE

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "alibaba-2025.yaml"
PAIRS = ROOT / "tests" / "data" / "pairs.csv"
TINY = ("name: tiny pipe\nsamples: 4\nseed: 1\nhorizon: {start: '2025-01', end: '2025-03'}\n"
        "analysis: {n_minus_1: false}\n")


def _run_with_closed_reader(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``python -m sim ARGS`` with stdout on a pipe whose read end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "sim", *args], stdout=write_end, stderr=subprocess.PIPE,
                              cwd=cwd, timeout=240, text=True)
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pipes")
    (folder / "tiny.yaml").write_text(TINY)
    return folder


def _commands(folder: Path) -> dict[str, list[str]]:
    tiny = str(folder / "tiny.yaml")
    return {
        "regions": ["regions", str(SCENARIO)],
        "schema": ["schema"],
        "validate": ["validate", str(SCENARIO)],
        "latency": ["latency", str(SCENARIO), "--pairs", str(PAIRS)],
        "demand": ["demand", tiny, "--samples", "10", "--out", str(folder / "demand")],
        "run": ["run", tiny, "--quiet", "--out", str(folder / "run")],
        "report": ["report", str(folder / "run")],
        "sweep": ["sweep", tiny, "--scheduler", "sync", "--vary", "seed=1,2", "--out", str(folder / "sweep")],
    }


# "report" reads the folder that "run" wrote: keep this order.
@pytest.mark.parametrize("name", ["regions", "schema", "validate", "latency", "demand", "run", "report", "sweep"])
def test_printing_command_stops_quietly_when_the_reader_is_gone(name, tiny):
    code, err = _run_with_closed_reader(_commands(tiny)[name], tiny)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, EXIT_BROKEN_PIPE), (code, err)
    if name == "run":  # the run folder is written before the headline is printed
        assert (tiny / "run" / "summary.json").is_file()


def test_a_long_table_cut_by_head_exits_141(tmp_path):
    """The shell pipeline of the issue: `infrasim regions | head -3` prints three lines and no traceback."""
    cmd = f"{sys.executable} -m sim regions {SCENARIO} | head -3; echo \"status=${{PIPESTATUS[0]}}\""
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("region"), proc.stdout
    assert lines[-1] in ("status=0", f"status={EXIT_BROKEN_PIPE}")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
