"""BuildTrainingSetTask: cut labelled template/science/difference triplets around every diaSource."""

from __future__ import annotations

__all__ = ("BuildTrainingSetConfig", "BuildTrainingSetConnections", "BuildTrainingSetTask")

import zlib
from typing import Any

import astropy.table
import numpy as np

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
import lsst.pipe.base.connectionTypes as cT
from lsst.utils.timer import timeMethod

from .labelDetectionsTask import LabelDetectionsConnections
from .sharedConfig import CutoutFieldsMixin, CutoutSizeMixin, DiaSourceColumnsMixin
from .sharedConnections import PER_DETECTOR, DetectorInputConnections, TripletTrainingConnections, connect_to
from .stamps import TRIPLET_CHANNELS, LabelledTriplets, cut_images
from .stamps.resampling import centre_psf_fwhm


class BuildTrainingSetConnections(DetectorInputConnections, dimensions=PER_DETECTOR):
    """Images, diaSources and their labels in; labelled triplets out."""

    labels = connect_to(
        cT.Input,
        LabelDetectionsConnections.labels,
        "Labels of the diaSources (LabelDetectionsTask), in the same order.",
    )
    triplets = connect_to(
        cT.Output,
        TripletTrainingConnections.triplets,
        "Raw template/science/difference cutouts with labels, kinds and S/N (training input).",
    )


class BuildTrainingSetConfig(
    CutoutSizeMixin,
    CutoutFieldsMixin,
    DiaSourceColumnsMixin,
    pipeBase.PipelineTaskConfig,
    pipelineConnections=BuildTrainingSetConnections,
):
    """Configuration of `BuildTrainingSetTask`."""

    minSnr = pexConfig.Field[float](
        doc="Keep only diaSources with absolute S/N above this (the seeds use 5 and 6); 0 keeps all.",
        default=0.0,
        check=lambda s: s >= 0,
    )
    keepEdge = pexConfig.Field[bool](
        doc="Keep diaSources whose cutout runs off the image (padded with fillValue).", default=True
    )
    maxBogusPerDetector = pexConfig.Field[int](
        doc="Keep at most this many bogus diaSources of a detector-visit (of those minSnr keeps), a "
        "random subset reproducible from the diaSource ids; every real one is kept. Bounds the weight of a "
        "detector-visit whose subtraction failed (thousands of dipoles from one misregistered visit of "
        "sharp seeing) in a training set. 0 keeps all.",
        default=0,
        check=lambda n: n >= 0,
    )


class BuildTrainingSetTask(pipeBase.PipelineTask):
    """Cut template, science and difference triplets around labelled diaSources.

    The cutouts are made exactly as `RealBogusTask` makes them (the same
    `~lsst.meas.realbogus.stamps.cutouts.cut_images`, the same fill and mask
    handling; missing pixels are stored as NaN by default) but stored raw, in
    every channel, so a training run can choose
    the channels (e.g. the seed-004 "noDIA" set), the normalization and a
    smaller size.  A detector with no triplet to keep (no diaSources, or none
    passing the cuts) raises `~lsst.pipe.base.NoWorkFound`: it writes nothing
    and training reads the other detectors.
    """

    ConfigClass = BuildTrainingSetConfig
    _DefaultName = "buildTrainingSet"

    @timeMethod
    def run(
        self,
        diaSources: astropy.table.Table,
        labels: astropy.table.Table,
        science: Any,
        template: Any,
        difference: Any,
    ) -> pipeBase.Struct:
        """Cut labelled triplets.

        Parameters
        ----------
        diaSources : `astropy.table.Table`
            diaSources with id and centroid columns.
        labels : `astropy.table.Table`
            Their labels, row for row (`LabelDetectionsTask` output).
        science, template : `lsst.images.VisitImage`
            Science image and template.
        difference : `lsst.images.DifferenceImage`
            Difference image.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            ``triplets``: `~lsst.meas.realbogus.stamps.triplets.LabelledTriplets`.

        Raises
        ------
        ValueError
            If the labels are not those of these diaSources, the images are
            not on one pixel grid, or a bad mask plane is in none of them.
        lsst.pipe.base.NoWorkFound
            If no triplet is kept.
        """
        config = self.config
        ids = np.asarray(diaSources[config.idColumn])
        if config.idColumn not in labels.colnames or not np.array_equal(
            ids, np.asarray(labels[config.idColumn])
        ):
            raise ValueError(
                f"labels do not match the diaSources row for row on {config.idColumn!r}; "
                "were they made from another diaSource dataset?"
            )
        # The cut checks that the images share one bounding box.
        images = {"template": template, "science": science, "difference": difference}
        keep = np.ones(len(ids), dtype=bool)
        if config.minSnr > 0:
            keep &= np.abs(np.asarray(labels["snr"], dtype=float)) > config.minSnr
        x = np.asarray(diaSources[config.xColumn], dtype=float)
        y = np.asarray(diaSources[config.yColumn], dtype=float)
        keep &= np.isfinite(x) & np.isfinite(y)
        bogus = np.flatnonzero(keep & ~np.asarray(labels["isReal"], dtype=bool))
        n_dropped = max(len(bogus) - config.maxBogusPerDetector, 0) if config.maxBogusPerDetector else 0
        if n_dropped:
            rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(ids, dtype=np.int64).tobytes()))
            keep[rng.choice(bogus, n_dropped, replace=False)] = False
            self.log.info(
                "Dropped %d of %d bogus diaSources at random (maxBogusPerDetector=%d).",
                n_dropped,
                len(bogus),
                config.maxBogusPerDetector,
            )
        self.metadata["numBogusDropped"] = n_dropped
        cut = cut_images(
            images,
            TRIPLET_CHANNELS,
            x[keep],
            y[keep],
            config.cutoutSize,
            fill=config.fillValue,
            bad_mask_planes=config.badMaskPlanes,
        )
        data, off_image, bad_fraction = cut.data, cut.off_image, cut.bad_fraction
        if not config.keepEdge:
            inside = ~off_image
            data, off_image, bad_fraction = data[inside], off_image[inside], bad_fraction[inside]
            keep[np.flatnonzero(keep)[~inside]] = False
        if not keep.any():
            raise pipeBase.NoWorkFound(
                f"no triplets to keep of {len(ids)} diaSources (minSnr={config.minSnr}, "
                f"keepEdge={config.keepEdge})"
            )
        selected = labels[keep]
        table = astropy.table.Table(
            {
                config.idColumn: ids[keep],
                "isReal": np.asarray(selected["isReal"], dtype=bool),
                "kind": np.asarray(selected["kind"]).astype(str),
                "snr": np.asarray(selected["snr"], dtype=np.float32),
                "flag_edge": off_image,
                "badPixelFraction": bad_fraction.astype(np.float32),
                "psfFwhm": np.full(len(selected), centre_psf_fwhm(difference), dtype=np.float32),
            }
        )
        n_real = int(table["isReal"].sum())
        self.metadata["numTriplets"] = len(table)
        self.metadata["numReal"] = n_real
        self.log.info(
            "Cut %d labelled triplets (%d real, %d bogus) of %d diaSources.",
            len(table),
            n_real,
            len(table) - n_real,
            len(ids),
        )
        return pipeBase.Struct(triplets=LabelledTriplets(np.ascontiguousarray(data), table))
