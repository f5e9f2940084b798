"""The simulated DC2-like butler repository on which the package is developed, tested and shown.

- `~lsst.meas.realbogus.simulation.config`: `SimulationConfig` and the presets.
- `~lsst.meas.realbogus.simulation.repo`: `build_repo`, the repository (instrument, skymap,
  visits, datasets) and its collections.
- `~lsst.meas.realbogus.simulation.simulator`: one detector-visit, from scene to diaSources.
- `~lsst.meas.realbogus.simulation.scene`, ``artifacts``, ``psf``, ``detection``, ``images``,
  ``camera``, ``skymap``, ``instrument``: its parts; ``psf_families``, ``resampling`` and
  ``quality`` (visit-level quality problems): its variety.

The command line is `lsst.meas.realbogus.scripts.make_sim_repo`.
"""
