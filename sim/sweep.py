"""`infrasim sweep`: many variants of one scenario, each a whole run, on Dask.

A planner asks "what if": cost per MW, operator share, lead time, which new zone opens late. A sweep
takes a scenario file and ``--vary key.path=v1,v2,...`` options and runs every variant as one coarse
Dask task (a whole scenario per task), on a local cluster by default or on a running Dask scheduler.

Key paths address the raw scenario mapping, as written in the YAML file: dots separate nesting levels,
integer parts index lists (``events.0.month``). Mapping keys that themselves contain a dot cannot be
addressed (no scenario key or region id has one). Each value is parsed with ``yaml.safe_load``, so
``35e6`` and ``0.8`` become numbers, ``true`` a boolean and ``2027-06`` stays a month string; commas
inside brackets do not split (``footprint.exclude=[me-east-1],[]``).

Durability: every finished variant is written as soon as it finishes, atomically, to
``OUT/variants/<hash>/`` (files go to ``<hash>.partial`` first and the folder is renamed when complete),
so Ctrl-C or a killed worker loses only the unfinished variants. The hash is a sha256 of the variant's
resolved scenario JSON plus samples, seed and backend; a rerun skips every variant whose folder exists
and says so. The worker that runs a variant sends its files back to the client, which writes them, so
a remote cluster does not need a file system shared with the client.

``OUT/sweep.csv`` has one row per variant (hash, varied values, status ``ok`` / ``failed`` /
``skipped-as-done`` / ``not-run``, error, headline figures of the base curve, what moved against the
base variant) and ``OUT/tornado.png`` ranks the varied keys by how far they move the new zones'
saturation (see :mod:`sim.outputs.tornado`). The base variant is the first one, every key at its first
value; each other finished variant is compared with it (:mod:`sim.outputs.compare`) into
``OUT/compare/<hash>/`` (delta tables and compare.txt; ``infrasim compare`` on the two variant folders
draws the figure and page).
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time
import typing
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from sim.errors import InputError

STATUS_OK, STATUS_FAILED, STATUS_SKIPPED, STATUS_NOT_RUN = "ok", "failed", "skipped-as-done", "not-run"
HASH_CHARS = 16  # folder name length: 64 bits of the sha256, collisions negligible for 1e6 variants
SAT_MEAN = "new_zone_saturation_p50_months_mean"
CONNECT_TIMEOUT_S = 20  # (assumption) long enough for a scheduler across a WAN, short enough to fail fast
DIST_HINT = "Dask is not installed; install the sweep extra: pip install 'infrasim[dist]'"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------------------------
# --vary parsing and key paths
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Vary:
    """One ``--vary`` option: the key path (its parts) and the values to try, in order."""

    key: str
    parts: tuple[str | int, ...]
    values: tuple[Any, ...]


def parse_value(text: str) -> Any:
    """A value as YAML reads it, with ``35e6``-style numbers (YAML 1.1 keeps them text) made numbers."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InputError("--vary", text, f"not a valid value: {getattr(err, 'problem', err)}") from None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def split_values(text: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_vary(spec: str) -> tuple[str, list[Any]]:
    """``key.path=v1,v2`` -> (``key.path``, [v1, v2]); bad syntax raises InputError('--vary', ...)."""
    key, sep, values_text = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError("--vary", key or spec, "expected KEY.PATH=V1,V2,... (for example "
                         "demand.cost_per_mw_usd=35e6,45e6)")
    if any(not part for part in key.split(".")):
        raise InputError("--vary", key, "empty part in the key path (keys that contain dots are not supported)")
    texts = split_values(values_text)
    if any(not t for t in texts):
        raise InputError("--vary", key, f"empty value in {values_text!r} (give V1,V2,... after '=')")
    return key, [parse_value(t) for t in texts]


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: Optional/Union/Annotated are opened, None dropped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return [alt for arg in typing.get_args(annotation) for alt in _unwrap(arg) if arg is not type(None)]
    return [annotation]


def _step(annotation: Any, part: str, key: str) -> tuple[Any, str | int]:
    """Follow one key-path part through the schema; return (inner annotation, part as str or int)."""
    for alt in _unwrap(annotation):
        fields = getattr(alt, "model_fields", None)
        origin = typing.get_origin(alt)
        if fields is not None:
            if part in fields:
                return fields[part].annotation, part
            close = difflib.get_close_matches(part, list(fields), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "known here: " + ", ".join(fields)
            raise InputError("--vary", key, f"unknown key '{part}' ({hint})")
        if origin is dict:
            return typing.get_args(alt)[1], part
        if origin is list:
            if not re.fullmatch(r"\d+", part):
                raise InputError("--vary", key, f"'{part}' indexes a list: use an integer position")
            return typing.get_args(alt)[0], int(part)
    raise InputError("--vary", key, f"'{part}' goes inside a plain value (keys that contain dots are not supported)")


def resolve_key(key: str) -> tuple[str | int, ...]:
    """Check a dotted key path against the scenario schema; integer parts index lists."""
    from sim.model.scenario import Scenario

    annotation: Any = Scenario
    parts: list[str | int] = []
    for part in key.split("."):
        annotation, typed = _step(annotation, part, key)
        parts.append(typed)
    return tuple(parts)


def set_path(raw: dict, parts: tuple[str | int, ...], value: Any, key: str) -> None:
    """Set ``value`` at ``parts`` in the raw mapping, creating missing mappings on the way."""
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                have = len(node) if isinstance(node, list) else 0
                raise InputError("--vary", key, f"index {part} is beyond the list in the scenario ({have} items)")
        elif not isinstance(node, dict):
            raise InputError("--vary", key, f"'{part}' goes inside {type(node).__name__} in the scenario")
        if last:
            node[part] = copy.deepcopy(value)
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = [] if isinstance(parts[depth + 1], int) else {}
            node = node[part]


def parse_varies(specs: list[str], raw: dict) -> list[Vary]:
    """Parse and check every ``--vary`` option against the schema and the scenario's own lists."""
    if not specs:
        raise InputError("--vary", "", "give at least one --vary KEY.PATH=V1,V2,...")
    varies, seen = [], set()
    for spec in specs:
        key, values = parse_vary(spec)
        if key in seen:
            raise InputError("--vary", key, "given twice: put all its values in one --vary")
        seen.add(key)
        parts = resolve_key(key)
        set_path(copy.deepcopy(raw), parts, values[0], key)  # index and nesting checks, on a copy
        varies.append(Vary(key, parts, tuple(values)))
    return varies


def combinations(varies: list[Vary], mode: str) -> list[dict[str, Any]]:
    """Variants as {key: value}: the product of the values (grid) or their i-th values together (zip)."""
    keys = [v.key for v in varies]
    if mode == "zip":
        lengths = {v.key: len(v.values) for v in varies}
        if len(set(lengths.values())) > 1:
            raise InputError("--vary", ",".join(keys), f"--zip needs as many values for every key, got {lengths}")
        return [dict(zip(keys, combo)) for combo in zip(*(v.values for v in varies))]
    if mode != "grid":
        raise InputError("--vary", "", f"mode must be 'grid' or 'zip', got {mode!r}")
    return [dict(zip(keys, combo)) for combo in itertools.product(*(v.values for v in varies))]


# ----------------------------------------------------------------------------------------------
# Variants: build, validate, hash
# ----------------------------------------------------------------------------------------------
@dataclass
class Variant:
    """One point of the sweep: its values, raw mapping, and (once validated) hash or error."""

    values: dict[str, Any]
    raw: dict
    source: str
    hash: str = ""
    error: str = ""
    samples: int | None = None
    seed: int | None = None
    row: dict = field(default_factory=dict)


def variant_hash(scenario_json: str, samples: int, seed: int, backend: str) -> str:
    """sha256 over the resolved scenario JSON and what else changes the result."""
    text = json.dumps({"scenario": json.loads(scenario_json), "samples": samples, "seed": seed,
                       "backend": backend}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def build_variants(raw: dict, varies: list[Vary], mode: str, source: str, base: Path,
                   samples: int | None, seed: int | None, backend: str) -> list[Variant]:
    """Every variant's raw mapping, validated with scenario_from_dict; bad ones carry their error."""
    from sim.model.scenario import scenario_from_dict

    parts = {v.key: v.parts for v in varies}
    variants = []
    for values in combinations(varies, mode):
        mapping = copy.deepcopy(raw)
        for key, value in values.items():
            set_path(mapping, parts[key], value, key)
        label = ", ".join(f"{k}={v}" for k, v in values.items())
        variant = Variant(values, mapping, f"{source} [{label}]")
        try:
            scenario = scenario_from_dict(copy.deepcopy(mapping), variant.source, base)
        except InputError as err:
            variant.error = str(err)
        else:
            variant.samples = scenario.samples if samples is None else samples
            variant.seed = scenario.seed if seed is None else seed
            variant.hash = variant_hash(scenario.model_dump_json(), variant.samples, variant.seed, backend)
        variants.append(variant)
    return variants


# ----------------------------------------------------------------------------------------------
# The task (runs on a worker) and the client-side atomic write
# ----------------------------------------------------------------------------------------------
def default_runner(*args, **kwargs):
    """``sim.run`` without plots and report.html (tables and summary only), imported when first called.

    A sweep needs each variant's numbers, not hundreds of reports; ``infrasim report OUT/variants/<hash>``
    builds one variant's plots and report later from its tables.
    """
    from sim.api import run

    return run(*args, report=False, **kwargs)


def run_variant(raw: dict, source: str, base: str, samples: int | None, seed: int | None, backend: str,
                max_memory_gb: float | None, runner: Callable | None = None) -> dict:
    """Validate and run one variant in a scratch folder; return its summary and its files as bytes.

    This is the Dask task: it takes the raw mapping (plain, picklable data), so the worker validates the
    scenario itself. The files travel back to the client, which writes them under the sweep folder.
    """
    from sim.model.scenario import scenario_from_dict

    runner = runner or default_runner
    scenario = scenario_from_dict(copy.deepcopy(raw), source, Path(base))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="infrasim-variant-") as scratch:
        out_dir = Path(scratch) / "run"
        result = runner(scenario, samples=samples, seed=seed, backend=backend, out_dir=out_dir,
                        progress=False, max_memory_gb=max_memory_gb)
        if (getattr(result, "meta", None) or {}).get("interrupted"):  # Ctrl-C inside the run: not finished
            raise KeyboardInterrupt
        out_dir.mkdir(parents=True, exist_ok=True)
        if not (out_dir / "summary.json").exists():  # a runner that only returns its summary
            summary = dict(getattr(result, "summary", None) or {})
            (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        files = {p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*"))
                 if p.is_file()}
    # the table reads summary.json as written, so fresh rows and skipped-as-done rows agree exactly
    return {"summary": json.loads(files["summary.json"]), "files": files, "task_s": time.perf_counter() - started}


def write_variant(variants_dir: Path, variant: Variant, result: dict, backend: str) -> Path:
    """Write a finished variant atomically: files into ``<hash>.partial``, then rename to ``<hash>``."""
    final = variants_dir / variant.hash[:HASH_CHARS]
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for name, data in result["files"].items():
        path = partial / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    meta = {"hash": variant.hash, "values": variant.values, "samples": variant.samples, "seed": variant.seed,
            "backend": backend, "source": variant.source, "task_s": round(result["task_s"], 3)}
    (partial / "variant.json").write_text(json.dumps(meta, indent=2, default=str))
    if final.exists():  # finished meanwhile by another sweep on the same folder: keep the first
        shutil.rmtree(partial, ignore_errors=True)
    else:
        os.replace(partial, final)
    return final


def is_done(variants_dir: Path, variant: Variant) -> bool:
    return (variants_dir / variant.hash[:HASH_CHARS] / "summary.json").is_file()


# ----------------------------------------------------------------------------------------------
# Headline figures for the sweep table
# ----------------------------------------------------------------------------------------------
def _curve(block: Any, curve: str = "base") -> Any:
    """The base curve's entry of a per-curve block (the first curve if there is no 'base')."""
    if not isinstance(block, dict) or not block:
        return None
    return block.get(curve, next(iter(block.values())))


def _months_from(start: str, month: Any) -> float:
    from sim.config import month_number

    if isinstance(month, str) and re.fullmatch(r"\d{4}-\d{2}", month):
        return float(month_number(month) - month_number(start))
    return float("nan")


def headline(summary: dict) -> dict[str, Any]:
    """Base-curve headline figures of one run: new-zone P50 saturation months after the horizon start.

    A zone not saturated within the horizon has NaN in its own column; in the mean over new zones it
    counts as saturating the month after the horizon ends (censored), so late is never hidden by NaN.
    """
    from sim.config import month_number

    horizon = summary.get("horizon") or {}
    start, end = horizon.get("start"), horizon.get("end")
    row: dict[str, Any] = {}
    censored: list[float] = []
    for region_id, zone in sorted((summary.get("new_zones") or {}).items()):
        p50 = (_curve(zone.get("saturation")) or {}).get("p50") if start else None
        months = _months_from(start, p50) if start else float("nan")
        row[f"saturation_p50_months.{region_id}"] = months
        if end and start:
            censored.append(months if months == months else float(month_number(end) - month_number(start) + 1))
    row[SAT_MEAN] = sum(censored) / len(censored) if censored else float("nan")
    row["horizon_months"] = month_number(end) - month_number(start) + 1 if start and end else None
    row["served_within_slo_share_p50"] = (_curve(summary.get("served_within_slo_share")) or {}).get("p50")
    row["unmet_mw_p50"] = _curve(summary.get("unmet_mw_p50"))
    row["max_link_utilisation_p50"] = (_curve(summary.get("max_link_utilisation")) or {}).get("p50")
    row["runtime_s"] = summary.get("runtime_s")
    return row


def _row(variant: Variant, status: str, error: str = "", summary: dict | None = None) -> dict:
    row = {"variant": variant.hash[:HASH_CHARS], **variant.values, "status": status, "error": error}
    if summary:
        row.update(headline(summary))
    return row


def _read_summary(variants_dir: Path, variant: Variant) -> dict:
    return json.loads((variants_dir / variant.hash[:HASH_CHARS] / "summary.json").read_text())


# ----------------------------------------------------------------------------------------------
# Dask
# ----------------------------------------------------------------------------------------------
def make_client(scheduler: str | None, workers: int | None):
    """A Dask client: connected to ``scheduler`` when given, else on a new local cluster of processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("sweep", "", DIST_HINT) from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise InputError("--scheduler", scheduler, f"cannot connect to the Dask scheduler: {err}") from None
    n_workers = workers or max(1, os.cpu_count() or 1)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster)


def _close(client) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _progress_bar(progress: Any, total: int):
    """tqdm over variants: on when ``progress`` is True, automatic (stderr is a terminal) when None."""
    if progress is False or callable(progress):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="variant", desc="sweep", disable=(not sys.stderr.isatty()) if progress is None
                else not progress)


# ----------------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------------
def run_sweep(scenario_path: Path, vary: list[str], mode: str = "grid", scheduler: str | None = None,
              workers: int | None = None, out_dir: Path = Path("sweep-out"), samples: int | None = None,
              seed: int | None = None, backend: str = "numpy", max_memory_gb: float | None = None,
              runner: Callable | None = None, client=None, progress: Any = None) -> pd.DataFrame:
    """Run every variant of a scenario on Dask; return the sweep table (also written to OUT/sweep.csv).

    ``vary``: ``key.path=v1,v2,...`` strings. ``mode``: 'grid' (product) or 'zip' (i-th values
    together). ``client``: an existing ``distributed.Client`` (else one is made from ``scheduler`` /
    ``workers`` and closed at the end); ``scheduler='sync'`` runs the variants one after another in this
    process, without Dask. ``runner``: the function that runs one scenario (default ``sim.run``).
    ``progress``: None = a bar when stderr is a terminal, True/False = on/off, or a callable called with
    each finished row (dict). Ctrl-C keeps every finished variant and re-raises KeyboardInterrupt.
    """
    from sim.model.scenario import read_yaml

    scenario_path = Path(scenario_path)
    raw = read_yaml(scenario_path)
    if not isinstance(raw, dict):
        raise InputError(str(scenario_path), "", "top level must be a mapping of fields")
    varies = parse_varies(list(vary), raw)
    variants = build_variants(raw, varies, mode, str(scenario_path), scenario_path.resolve().parent,
                              samples, seed, backend)
    out_dir = Path(out_dir)
    variants_dir = out_dir / "variants"
    variants_dir.mkdir(parents=True, exist_ok=True)
    todo = _settle_known(variants, variants_dir)
    try:
        if todo:
            _execute(todo, variants_dir, scheduler, workers, samples, seed, backend, max_memory_gb, runner, client,
                     progress, scenario_path)
    finally:
        _compare_with_base(variants, variants_dir, out_dir)
        table = _write_outputs(variants, varies, out_dir, mode)
    return table


def _label(variant: Variant) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant.values.items())


def _compare_with_base(variants: list[Variant], variants_dir: Path, out_dir: Path) -> None:
    """Each finished variant against the base variant (the first: every key at its first value), written to
    ``OUT/compare/<hash>/``; the row gets how many sites moved and the first thing that moved."""
    from sim.outputs.compare import compare_runs, write_comparison

    finished = (STATUS_OK, STATUS_SKIPPED)
    base = variants[0]
    if base.row.get("status") not in finished:
        return
    base.row.update(sites_moved_vs_base=0, vs_base="(the base variant)")
    for variant in variants[1:]:
        if variant.row.get("status") not in finished or variant.hash == base.hash:
            continue
        try:
            comparison = compare_runs(variants_dir / base.hash[:HASH_CHARS], variants_dir / variant.hash[:HASH_CHARS],
                                      names=(_label(base), _label(variant)))
        except InputError as err:  # a folder without the tables a comparison needs
            variant.row["vs_base"] = f"not compared: {err}"
            continue
        write_comparison(comparison, out_dir / "compare" / variant.hash[:HASH_CHARS], plot=False)
        variant.row["sites_moved_vs_base"] = comparison.sites_moved
        variant.row["vs_base"] = comparison.lines[2].removeprefix("- ")


def _settle_known(variants: list[Variant], variants_dir: Path) -> dict[str, list[Variant]]:
    """Rows for invalid and already finished variants; the rest grouped by hash (duplicates run once)."""
    todo: dict[str, list[Variant]] = {}
    for variant in variants:
        if variant.error:
            variant.row = _row(variant, STATUS_FAILED, variant.error)
        elif is_done(variants_dir, variant):
            variant.row = _row(variant, STATUS_SKIPPED, summary=_read_summary(variants_dir, variant))
        else:
            variant.row = _row(variant, STATUS_NOT_RUN)
            todo.setdefault(variant.hash, []).append(variant)
    return todo


def _execute(todo: dict[str, list[Variant]], variants_dir: Path, scheduler, workers, samples, seed, backend,
             max_memory_gb, runner, client, progress, scenario_path: Path) -> None:
    """Submit one task per distinct variant and write each result as soon as it arrives."""
    base = str(scenario_path.resolve().parent)
    args = {h: (group[0].raw, group[0].source, base, samples, seed, backend, max_memory_gb, runner)
            for h, group in todo.items()}
    bar = _progress_bar(progress, len(todo))
    try:
        if scheduler == "sync" and client is None:
            for h in todo:
                _finish(todo[h], variants_dir, backend, _call(run_variant, args[h]), bar, progress)
            return
        own = client is None
        client = client or make_client(scheduler, workers)
        try:
            _gather(client, todo, args, variants_dir, backend, bar, progress)
        finally:
            if own:
                _close(client)
    finally:
        if bar is not None:
            bar.close()


def _call(func: Callable, args: tuple) -> tuple[dict | None, str]:
    try:
        return func(*args), ""
    except Exception as err:  # noqa: BLE001 - a failing variant is reported, the others go on
        return None, _one_line(err)


def _one_line(err: BaseException) -> str:
    text = str(err) if isinstance(err, InputError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())


def _gather(client, todo, args, variants_dir, backend, bar, progress) -> None:
    from distributed import as_completed

    # Keys are unique per submission. Dask cancels asynchronously: after an interrupted sweep the
    # scheduler may still be forgetting the old tasks when a rerun on the same client submits, and a
    # reused key would attach the new future to the task being cancelled (it comes back cancelled).
    # A fresh suffix makes every submission its own task; the variant hash stays in the key for logs.
    batch = uuid.uuid4().hex[:8]
    futures = {client.submit(run_variant, *args[h], key=f"infrasim-variant-{h[:HASH_CHARS]}-{batch}", pure=False): h
               for h in todo}
    try:
        for future in as_completed(futures):
            try:
                outcome = future.result(), ""
            except Exception as err:  # noqa: BLE001 - includes KilledWorker: reported, others go on
                outcome = None, _one_line(err)
            future.release()
            _finish(todo[futures[future]], variants_dir, backend, outcome, bar, progress)
    except BaseException:
        client.cancel(list(futures))
        raise


def _finish(group: list[Variant], variants_dir: Path, backend: str, outcome: tuple[dict | None, str], bar,
            progress) -> None:
    """Write one finished variant (or record its error) and advance the progress display."""
    result, error = outcome
    if result is not None:
        write_variant(variants_dir, group[0], result, backend)
    for variant in group:
        variant.row = (_row(variant, STATUS_OK, summary=result["summary"]) if result is not None
                       else _row(variant, STATUS_FAILED, error))
    if bar is not None:
        bar.update(1)
    if callable(progress):
        progress(group[0].row)


def _write_outputs(variants: list[Variant], varies: list[Vary], out_dir: Path, mode: str) -> pd.DataFrame:
    """sweep.csv (written atomically) and the tornado plot; returns the table."""
    from sim.outputs.tornado import write_tornado

    table = pd.DataFrame([v.row for v in variants])
    tmp = out_dir / "sweep.csv.partial"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out_dir / "sweep.csv")
    write_tornado(table, [v.key for v in varies], out_dir, mode)
    return table


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def sweep_cli(args, runner: Callable | None = None, client=None) -> int:
    """`infrasim sweep`: run the sweep, print a short table and where the files are.

    Exit code 0 when every variant is ok or was already done, 1 when some failed (their errors are in
    the table), 2 for bad input (raised as InputError, printed by the CLI).
    """
    from tabulate import tabulate

    out_dir = Path(args.out)
    table = run_sweep(Path(args.scenario), list(args.vary), mode="zip" if args.zip else "grid",
                      scheduler=args.scheduler, workers=args.workers, out_dir=out_dir, samples=args.samples,
                      seed=args.seed, backend=args.backend, max_memory_gb=args.max_memory, runner=runner,
                      client=client)
    keys = [parse_vary(spec)[0] for spec in args.vary]
    shown = ["variant", *keys, "status", SAT_MEAN, "served_within_slo_share_p50", "unmet_mw_p50",
             "sites_moved_vs_base", "error"]
    view = table[[c for c in shown if c in table.columns]].rename(columns={SAT_MEAN: "new_zone_sat_p50_months"})
    print(tabulate(view, headers="keys", showindex=False, floatfmt=".3g", maxcolwidths=60))
    counts = table["status"].value_counts().to_dict()
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    if counts.get(STATUS_SKIPPED):
        print(f"{counts[STATUS_SKIPPED]} variant(s) were already finished in {out_dir / 'variants'} and were skipped")
    print(f"table: {out_dir / 'sweep.csv'}; variants: {out_dir / 'variants'}"
          + (f"; tornado: {out_dir / 'tornado.png'}" if (out_dir / "tornado.png").exists() else "")
          + (f"; against the base variant: {out_dir / 'compare'}" if (out_dir / "compare").exists() else ""))
    return 1 if counts.get(STATUS_FAILED) else 0
