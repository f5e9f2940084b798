"""Exposure quality (seed 002): a DESOM of source thumbnails (DESOM-1), each exposure's histogram
over its map, and a DESOM of those histograms (DESOM-2) whose cells are labelled by quality.

- `~lsst.meas.realbogus.quality.sources`: detecting sources on a science image, choosing the
  ones to cut, and a small preview of the image.
- `~lsst.meas.realbogus.quality.histograms`: an exposure's prototype histogram ("histo-vector"),
  scaled to the total source count, and the per-cell scaling DESOM-2 is trained on.
- `~lsst.meas.realbogus.quality.labelling`: labelling DESOM-2's cells by the majority of known
  labels, with hand edits (`CellLabels`).
- `~lsst.meas.realbogus.quality.metrics`: confusion matrix, accuracy, precision and recall of
  "good".
- `~lsst.meas.realbogus.quality.plots`: an exposure's density map beside its image, the DESOM-2
  map coloured by label, members of a cell.

The autoencoders and maps themselves are those of `lsst.meas.realbogus.desom` (DESOM-2's is the
``dense`` autoencoder).  Import the modules themselves; none imports torch.
"""
