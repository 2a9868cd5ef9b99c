"""infrasim: a Monte Carlo simulator of AI cloud infrastructure.

The command line `infrasim` is a thin face over this API::

    import sim
    scenario = sim.load_scenario("scenarios/alibaba-2025.yaml")
    results = sim.run(scenario, samples=200, backend="numpy", out_dir="out")
    results.tables["new_zones"]          # pandas DataFrames, one per CSV of the run folder
    results.summary["new_zones"]         # the headline figures of summary.json
    results.plot_saturation()            # matplotlib figures
    advice = sim.advise(scenario, top=3)  # where to build next: picks, sentences, tables
    staffing = sim.support(scenario)      # agents per support centre and hour
"""
from sim._version import __version__
from sim.errors import InputError


def __getattr__(name: str):
    # Lazy: `import sim` stays cheap (the CLI imports only what a command needs).
    if name in ("load_scenario", "scenario_from_dict"):
        from sim.model import scenario

        return getattr(scenario, name)
    if name in ("run", "advise", "support"):
        from sim import api

        return getattr(api, name)
    if name == "Results":
        from sim.outputs.results import Results

        return Results
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = ["InputError", "load_scenario", "scenario_from_dict", "run", "advise", "support", "Results",
           "__version__"]
