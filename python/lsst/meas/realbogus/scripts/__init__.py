"""Command-line tools (their entry points are in ``bin.src/`` and ``pyproject.toml``).

- `~lsst.meas.realbogus.scripts.make_sim_repo`: ``make_realbogus_sim_repo.py``, build a
  simulated repository.
- `~lsst.meas.realbogus.scripts.score_report`: ``realbogus_score_report.py``, scores against the
  simulation's truth.
- `~lsst.meas.realbogus.scripts.register_model`: ``register_realbogus_model.py``, store a model
  file in a butler.
- `~lsst.meas.realbogus.scripts.convert_model_package`: ``convert_rubin_model_package.py``,
  convert a Rubin model package into a model file.
- `~lsst.meas.realbogus.scripts.export_onnx`: ``export_realbogus_onnx.py``, export a model file
  to ONNX.
- `~lsst.meas.realbogus.scripts.extract_member`: ``extract_realbogus_member.py``, one network
  of an ensemble model file as a model file.
"""
