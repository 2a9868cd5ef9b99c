"""Planning: recommendations built on the model and the engine's kernels, not only reports.

- :mod:`sim.planning.variants`: the scenario plus extra sites, hundreds of footprint variants evaluated
  in one batch (shared by both commands).
- :mod:`sim.planning.advise`: where to build next (``infrasim advise``), greedy over candidate metros.
- :mod:`sim.planning.candidates`: the candidate metros (GeoNames) or the user's CSV.
- :mod:`sim.planning.support`: how to staff the support centres (``infrasim support``): tickets by
  market, language and hour, follow-the-sun routing, Erlang C staffing, each centre closed in turn.
- :mod:`sim.planning.places`: a market's country, time zone and languages (GeoNames).

This room imports the model, the engine and the kernels; never the outputs, the validation or a face.
"""
