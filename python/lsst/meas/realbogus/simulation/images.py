"""Wrap simulated pixel arrays in the `lsst.images` types the butler stores."""

from __future__ import annotations

__all__ = ("make_mask_schema", "make_observation_info", "make_visit_image")

import math
from collections.abc import Mapping

import astropy.units as u
import astropy.wcs
import numpy as np
from astro_metadata_translator import ObservationInfo
from astropy.time import Time

from lsst.images import (
    DifferenceImage,
    Image,
    Mask,
    MaskPlane,
    MaskSchema,
    SkyProjection,
    VisitImage,
    get_legacy_difference_image_mask_planes,
)
from lsst.images.cameras import Detector
from lsst.images.psfs import GaussianPointSpreadFunction

EXPOSURE_TIME = 30.0
"""Exposure time of a simulated visit, seconds."""


def make_mask_schema() -> MaskSchema:
    """The mask planes of alert-production difference images (a superset of the visit-image planes)."""
    planes = get_legacy_difference_image_mask_planes()
    return MaskSchema([MaskPlane(p.name, p.description) for p in planes.values()])


def make_observation_info(
    instrument: str, visit: int, detector: int, band: str, mjd: float
) -> ObservationInfo:
    """Observation metadata of a simulated visit and detector."""
    begin = Time(mjd, format="mjd", scale="tai")
    return ObservationInfo(
        instrument=instrument,
        physical_filter=f"sim_{band}",
        exposure_id=visit,
        visit_id=visit,
        detector_num=detector,
        datetime_begin=begin,
        datetime_end=begin + EXPOSURE_TIME * u.s,
        exposure_time=EXPOSURE_TIME * u.s,
    )


def make_visit_image(
    array: np.ndarray,
    variance: np.ndarray,
    masks: Mapping[str, np.ndarray],
    psf_sigma: float,
    wcs: astropy.wcs.WCS,
    detector: Detector,
    obs_info: ObservationInfo,
    band: str,
    *,
    difference: bool = False,
    metadata: Mapping[str, float | int | str] | None = None,
) -> VisitImage:
    """Make a `~lsst.images.VisitImage` (or `~lsst.images.DifferenceImage`).

    Parameters
    ----------
    array, variance : `numpy.ndarray`
        Pixel values (nJy) and their variance (nJy^2).
    masks : `~collections.abc.Mapping` [`str`, `numpy.ndarray`]
        Boolean array of each mask plane to set (names as in `make_mask_schema`).
    psf_sigma : `float`
        Sigma of the Gaussian PSF stored with the image, pixels.
    wcs : `astropy.wcs.WCS`
        The image's WCS.
    detector : `lsst.images.cameras.Detector`
        The detector, for this visit.
    obs_info : `astro_metadata_translator.ObservationInfo`
        Observation metadata.
    band : `str`
        Band.
    difference : `bool`
        Make a `~lsst.images.DifferenceImage` instead of a `~lsst.images.VisitImage`.
    metadata : `~collections.abc.Mapping`, optional
        Extra metadata.
    """
    frame = detector.frame
    bbox = detector.bbox
    projection = SkyProjection.from_fits_wcs(wcs, frame, pixel_bounds=bbox, x0=0, y0=0)
    image = Image(np.asarray(array, dtype=np.float32), unit=u.nJy, sky_projection=projection)
    var = Image(np.asarray(variance, dtype=np.float32), unit=u.nJy**2)
    mask = Mask(0, schema=make_mask_schema(), bbox=image.bbox)
    for plane, values in masks.items():
        if values.any():
            mask.set(plane, values)
    stamp = 2 * math.ceil(5 * psf_sigma) + 1
    psf = GaussianPointSpreadFunction(psf_sigma, image.bbox, stamp)
    cls = DifferenceImage if difference else VisitImage
    return cls(
        image,
        mask=mask,
        variance=var,
        psf=psf,
        detector=detector,
        obs_info=obs_info,
        band=band,
        metadata=dict(metadata or {}),
    )
