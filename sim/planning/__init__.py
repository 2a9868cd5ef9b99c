"""Planning: recommendations built on the model and the engine's kernels, not only reports.

- :mod:`sim.planning.variants`: the scenario plus extra sites, hundreds of footprint variants evaluated
  in one batch (shared by both commands).
- :mod:`sim.planning.advise`: where to build next (``infrasim advise``), greedy over candidate metros.
- :mod:`sim.planning.candidates`: the candidate metros (GeoNames) or the user's CSV.

This room imports the model, the engine and the kernels; never the outputs, the validation or a face.
"""
