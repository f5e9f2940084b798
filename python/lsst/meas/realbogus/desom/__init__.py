"""DESOM: a deep-embedded self-organizing map (autoencoder + SOM) that places every detection on a
map of prototypes (seeds 000 and 002).

- `~lsst.meas.realbogus.desom.autoencoder`: convolutional autoencoders, registered by name (the
  seed's Table 1 as ``table1``).
- `~lsst.meas.realbogus.desom.som`: the map, its loss, the batch SOM, quantization and
  topographic errors, the U-matrix.
- `~lsst.meas.realbogus.desom.training`: `train_desom`, separate-trained or combine-trained.
- `~lsst.meas.realbogus.desom.model`: DESOM files (`DesomMetadata`, `load_desom`; no torch at
  import) and `~lsst.meas.realbogus.desom.network` (`DesomNetwork`, `save_desom`).
- `~lsst.meas.realbogus.desom.labelling`: labelling the prototypes real or bogus, with hand edits.
- `~lsst.meas.realbogus.desom.stacking`: the stacked score (CNN score, PV, distance).
- `~lsst.meas.realbogus.desom.plots`: the map, reconstructions, ratio map, switch-off ROC,
  U-matrix, per-prototype maps.

Import the modules themselves; ``model`` and ``labelling`` do not import torch.
"""
