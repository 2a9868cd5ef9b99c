"""Scenario files: strict schema, safe loading, one-line errors.

A scenario is a YAML mapping. Every field has a default and its unit in its name, so the smallest
scenario is ``name: test``. Loading refuses, with one line ``FILE: field.path: reason``:
empty files, files that are not a mapping or not text, YAML anchors/aliases (no alias bombs),
duplicate keys, NaN or text where numbers go, unknown keys (with a "did you mean" hint) and paths that
do not exist. Relative paths in a scenario are relative to the scenario file.
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from sim.config import Month, StrictModel, month_number
from sim.errors import InputError
from sim.model.catalogue import FootprintConfig, MarketsConfig
from sim.model.demand import DemandConfig, TrafficConfig
from sim.model.failures import EventConfig, FailureConfig
from sim.model.latency import LatencyConfig
from sim.model.network import TopologyConfig
from sim.model.supply import SupplyConfig

MAX_SCENARIO_BYTES = 1_000_000
PATH_FIELDS = (("topology", "graphml"), ("footprint", "catalogue"), ("markets", "catalogue"))


class Horizon(StrictModel):
    """Simulated period, inclusive, in months."""

    start: Month = "2025-01"
    end: Month = "2030-12"

    @model_validator(mode="after")
    def _ordered(self) -> "Horizon":
        if month_number(self.end) < month_number(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class AnalysisConfig(StrictModel):
    """What counts as saturated, on time and worth an N-1 study."""

    utilisation_ceiling: float = Field(default=0.85, gt=0, le=1)  # DESIGN §1 default
    slo_rtt_ms: float = Field(default=100.0, gt=0)  # interactive inference target, DESIGN §1
    n_minus_1: bool = True
    n_minus_1_months: list[Month] = []  # empty: every December of the horizon (yearly checkpoints)
    max_memory_gb: float = Field(default=2.0, gt=0)  # batch chunking budget of the engine


class QueueingConfig(StrictModel):
    """Link queueing (M/M/1 per directed link, DESIGN §8)."""

    mean_packet_bytes: float = Field(default=1000.0, gt=0)  # (assumption) typical mixed-traffic mean


class Scenario(StrictModel):
    """A complete scenario: footprint, network, demand, supply, failures and what to report."""

    name: str = Field(min_length=1)
    description: str = ""
    horizon: Horizon = Horizon()
    samples: int = Field(default=1000, ge=1, le=10_000_000)
    seed: int = Field(default=2025, ge=0)
    footprint: FootprintConfig = FootprintConfig()
    markets: MarketsConfig = MarketsConfig()
    topology: TopologyConfig = TopologyConfig()
    latency: LatencyConfig = LatencyConfig()
    demand: DemandConfig = DemandConfig()
    traffic: TrafficConfig = TrafficConfig()
    supply: SupplyConfig = SupplyConfig()
    failures: FailureConfig = FailureConfig()
    events: list[EventConfig] = []
    analysis: AnalysisConfig = AnalysisConfig()
    queueing: QueueingConfig = QueueingConfig()

    # Where the scenario came from; set by the loader, not part of the schema.
    _source: str = "<scenario>"

    @property
    def source(self) -> str:
        return self._source


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without aliases (no alias bombs), duplicate keys or implicit dates (dates stay text)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError("", None, "anchors and aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(k, deep=True) for k, _ in node.value]
        for key in keys:
            if keys.count(key) > 1:
                raise yaml.MarkedYAMLError("", None, f"duplicate key {key!r}", node.start_mark)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely, or raise InputError naming the file."""
    name = str(path)
    if not path.is_file():
        raise InputError(name, "", "file not found")
    data = path.read_bytes()
    if len(data) > MAX_SCENARIO_BYTES:
        raise InputError(name, "", f"file is larger than {MAX_SCENARIO_BYTES} bytes")
    if b"\x00" in data:
        raise InputError(name, "", "not a text file (binary content)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(name, "", "not a UTF-8 text file") from None
    if not text.strip():
        raise InputError(name, "", "file is empty")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise InputError(name, where, problem) from None


def _resolve_paths(raw: dict, base: Path) -> dict:
    """Make the scenario's relative file paths relative to the scenario's folder."""
    for section, key in PATH_FIELDS:
        block = raw.get(section)
        if isinstance(block, dict) and isinstance(block.get(key), str) and block[key] not in ("alibaba", "default"):
            candidate = Path(block[key]).expanduser()
            block[key] = str(candidate if candidate.is_absolute() else base / candidate)
    return raw


def scenario_from_dict(raw: Any, source: str = "<scenario>", base: Path | None = None) -> Scenario:
    """Validate a mapping as a Scenario; errors become one InputError naming ``source``."""
    if not isinstance(raw, dict):
        raise InputError(source, "", f"top level must be a mapping of fields, got {type(raw).__name__}")
    raw = _resolve_paths(dict(raw), base or Path.cwd())
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        raise _input_error(err, source) from None
    scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    return scenario_from_dict(read_yaml(path), str(path), path.resolve().parent)


def _input_error(err: ValidationError, source: str) -> InputError:
    first = err.errors()[0]
    loc = [str(part) for part in first["loc"]]
    reason = first["msg"]
    if first["type"] == "extra_forbidden":
        reason = "unknown field" + _did_you_mean(loc)
    elif first["type"] in ("path_not_file", "path_type"):
        reason = f"file not found: {first.get('input')}"
    elif "input" in first and first["type"].endswith(("_parsing", "_type", "finite_number")):
        reason = f"{reason} (got {first['input']!r})"
    return InputError(source, ".".join(loc), reason)


def _did_you_mean(loc: list[str]) -> str:
    """Suggest the closest field name for an unknown key, found by walking the schema."""
    model: Any = Scenario
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return ""
        model = _inner_model(fields[part].annotation)
    fields = getattr(model, "model_fields", None) or {}
    match = difflib.get_close_matches(loc[-1], list(fields), n=1)
    return f" (did you mean '{match[0]}'?)" if match else f" (known fields: {', '.join(fields)})"


def _inner_model(annotation: Any) -> Any:
    """The model class inside Optional[...] / list[...] / dict[..., Model] annotations."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def json_schema() -> str:
    """JSON Schema of scenario files, for editor completion."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "infrasim scenario"
    return json.dumps(schema, indent=2)


def dump_resolved(scenario: Scenario, samples: int | None = None, seed: int | None = None,
                  backend: str | None = None) -> str:
    """The scenario with every default filled in, as UTF-8 YAML (text as written, not escaped).

    ``samples`` and ``seed`` given (a run's, which the command line may have set) replace the file's, so
    the YAML is the scenario exactly as run and runs again the same; the backend is not a scenario field
    and is named in the header comment.
    """
    resolved = json.loads(scenario.model_dump_json())
    if samples is not None:
        resolved["samples"] = samples
    if seed is not None:
        resolved["seed"] = seed
    header = "# The scenario as run: every default filled in"
    header += f"; samples and seed as run; backend {backend}\n" if backend else "\n"
    return header + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True)
