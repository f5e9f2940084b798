"""Visit-level quality problems: the classes of seed 002 (Teimoorinia et al.), drawn per visit.

A visit is ``good`` or has one problem, drawn at the configured rates
(`draw_visit_quality`) from its own random stream, so a configuration with no
rates simulates exactly what it did before:

``tracking``
    Mild bad tracking (seed 002's BT): the science PSF convolved with an
    elongated kernel whose major-axis FWHM is 1 to 2 times the seeing.
``severe_tracking``
    Really bad tracking (RBT): a trail several times the seeing.
``focus``
    Bad focus: the PSF convolved with a donut of several times the seeing.
``seeing``
    Bad seeing (B-Seeing): the seeing multiplied by a factor of about 2.
``background``
    Background problems (BGP), one of: ``gradient`` (an unsubtracted linear
    ramp), ``scattered_light`` (a broad unsubtracted glow), ``high_sky``
    (sky noise several times the usual) or ``short_exposure`` (a fraction of
    the exposure time: sky and source noise up as its inverse square root).

The PSF problems act through the simulator's PSF families
(`~lsst.meas.realbogus.simulation.psf_families`), the noise problems through
the visit's sky noise and exposure fraction, and the background problems
through `background_layer`, added to each detector's science image.
"""

from __future__ import annotations

__all__ = (
    "BACKGROUND_PROBLEMS",
    "QUALITY_CLASSES",
    "VisitQuality",
    "background_layer",
    "draw_visit_quality",
    "quality_psf_family",
)

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .psf_families import PsfFamilyParameters

QUALITY_CLASSES = ("good", "tracking", "severe_tracking", "focus", "seeing", "background")
"""Visit quality classes (seed 002's Good, BT, RBT, bad focus, B-Seeing and BGP)."""

BACKGROUND_PROBLEMS = ("gradient", "scattered_light", "high_sky", "short_exposure")
"""The kinds of ``background`` problem, drawn with equal probability."""


@dataclass(frozen=True)
class VisitQuality:
    """The quality problem of one visit.

    Parameters
    ----------
    quality : `str`
        One of `QUALITY_CLASSES`.
    problem : `str`
        For ``background``, one of `BACKGROUND_PROBLEMS`; otherwise empty.
    strength : `float`
        How bad: the trail or donut size over the seeing FWHM (tracking,
        focus), the seeing factor (seeing), the amplitude in sky sigma
        (gradient, scattered light), the sky-noise factor (high sky) or the
        exposure fraction (short exposure); 0 for ``good``.
    angle : `float`
        Direction of the trail or the gradient, degrees from the x axis.
    shape : `float`
        Second parameter: the donut's central obscuration (focus), the glow's
        scale over the detector size (scattered light).
    """

    quality: str = "good"
    problem: str = ""
    strength: float = 0.0
    angle: float = 0.0
    shape: float = 0.0

    @property
    def seeing_factor(self) -> float:
        """Factor on the visit's seeing."""
        return self.strength if self.quality == "seeing" else 1.0

    @property
    def sky_factor(self) -> float:
        """Factor on the visit's sky noise."""
        if self.problem == "high_sky":
            return self.strength
        if self.problem == "short_exposure":
            return float(1.0 / np.sqrt(self.strength))
        return 1.0

    @property
    def exposure_fraction(self) -> float:
        """Fraction of the nominal exposure time (scales the source Poisson variance)."""
        return self.strength if self.problem == "short_exposure" else 1.0

    def as_metadata(self) -> dict[str, float | str]:
        """Image metadata (``SIM_QUALITY*`` keys)."""
        return {
            "SIM_QUALITY": self.quality,
            "SIM_QUALITY_PROBLEM": self.problem,
            "SIM_QUALITY_STRENGTH": self.strength,
        }


def draw_visit_quality(
    rng: np.random.Generator,
    rates: Mapping[str, float],
    *,
    tracking_range: Sequence[float],
    severe_tracking_range: Sequence[float],
    focus_range: Sequence[float],
    obscuration_range: Sequence[float],
    seeing_range: Sequence[float],
    background_range: Sequence[float],
    high_sky_range: Sequence[float],
    short_exposure_range: Sequence[float],
) -> VisitQuality:
    """Draw a visit's quality class and its parameters.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The visit's own quality stream.
    rates : mapping [`str`, `float`]
        Probability of each problem class (keys of `QUALITY_CLASSES` other
        than ``good``); ``good`` takes the rest.
    tracking_range, severe_tracking_range : sequence of `float`
        Trail FWHM over the seeing FWHM, mild and severe.
    focus_range : sequence of `float`
        Donut diameter over the seeing FWHM.
    obscuration_range : sequence of `float`
        Donut inner over outer radius.
    seeing_range : sequence of `float`
        Factor on the seeing of ``seeing`` visits.
    background_range : sequence of `float`
        Amplitude of gradients and scattered light, sky sigma.
    high_sky_range : sequence of `float`
        Factor on the sky noise of ``high_sky`` visits.
    short_exposure_range : sequence of `float`
        Exposure fraction of ``short_exposure`` visits.
    """
    problems = [c for c in QUALITY_CLASSES if c != "good"]
    p = np.array([float(rates.get(c, 0.0)) for c in problems])
    draws = rng.uniform(size=6)
    # Every number is drawn whatever the class, so the stream does not depend on it.
    angle = float(draws[1] * 180.0)
    index = int(np.searchsorted(np.cumsum(p), draws[0], side="right"))
    quality = problems[index] if index < len(problems) else "good"
    background = BACKGROUND_PROBLEMS[int(draws[2] * len(BACKGROUND_PROBLEMS))]

    def uniform(limits: Sequence[float]) -> float:
        return float(limits[0] + draws[3] * (limits[1] - limits[0]))

    if quality == "good":
        return VisitQuality()
    if quality in ("tracking", "severe_tracking"):
        span = tracking_range if quality == "tracking" else severe_tracking_range
        return VisitQuality(quality, strength=uniform(span), angle=angle)
    if quality == "focus":
        obscuration = float(obscuration_range[0] + draws[4] * (obscuration_range[1] - obscuration_range[0]))
        return VisitQuality(quality, strength=uniform(focus_range), shape=obscuration)
    if quality == "seeing":
        return VisitQuality(quality, strength=uniform(seeing_range))
    span = {
        "gradient": background_range,
        "scattered_light": background_range,
        "high_sky": high_sky_range,
        "short_exposure": short_exposure_range,
    }[background]
    return VisitQuality(
        quality, problem=background, strength=uniform(span), angle=angle, shape=float(0.2 + 0.3 * draws[5])
    )


def quality_psf_family(quality: VisitQuality, seeing_px: float) -> PsfFamilyParameters | None:
    """The PSF family kernel of a tracking or focus problem (None for the other classes).

    Parameters
    ----------
    quality : `VisitQuality`
        The visit's problem.
    seeing_px : `float`
        The visit's seeing FWHM, pixels.
    """
    if quality.quality in ("tracking", "severe_tracking"):
        major = quality.strength * seeing_px
        minor = max(0.25 * seeing_px, 0.5)
        return PsfFamilyParameters(
            "elongated", fwhm=float(np.sqrt(major * minor)), axis_ratio=minor / major, angle=quality.angle
        )
    if quality.quality == "focus":
        return PsfFamilyParameters("defocused", fwhm=quality.strength * seeing_px, obscuration=quality.shape)
    return None


def background_layer(
    quality: VisitQuality, size: int, sky_sigma: float, rng: np.random.Generator
) -> np.ndarray | None:
    """The unsubtracted background a ``gradient`` or ``scattered_light`` visit leaves on a detector.

    Parameters
    ----------
    quality : `VisitQuality`
        The visit's problem.
    size : `int`
        Detector width and height, pixels.
    sky_sigma : `float`
        The visit's sky noise (the amplitude's unit).
    rng : `numpy.random.Generator`
        The detector-visit's stream (where the glow falls).

    Returns
    -------
    layer : `numpy.ndarray` or None
        ``(size, size)`` float array, or None for other problems.
    """
    if quality.problem not in ("gradient", "scattered_light"):
        return None
    amplitude = quality.strength * sky_sigma
    yy, xx = np.mgrid[0:size, 0:size] / float(size) - 0.5
    if quality.problem == "gradient":
        theta = np.deg2rad(quality.angle)
        ramp = xx * np.cos(theta) + yy * np.sin(theta)
        return (amplitude * ramp / 0.5).astype(np.float32)
    cx, cy = rng.uniform(-0.7, 0.7, size=2)
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    return (amplitude * np.exp(-0.5 * r2 / quality.shape**2)).astype(np.float32)
