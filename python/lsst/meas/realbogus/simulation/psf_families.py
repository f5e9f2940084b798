"""Per-visit PSF families: the shape kernel that convolves a visit's science scene.

The simulator's science PSF is the template's double Gaussian convolved with a
spatially varying Gaussian kernel (`~lsst.meas.realbogus.simulation.psf`).  A
visit of a non-Gaussian family is further convolved with a spatially constant
kernel ``K_v`` of its family, drawn here on a pixel grid (so it can be
applied by FFT):

``gaussian``
    Identity: today's PSF (no extra kernel).
``doubleGaussian``
    A core plus a broad wing holding a fraction of the flux.
``moffat``
    ``(1 + r**2 / alpha**2) ** -beta``, with heavy wings for small ``beta``.
``elongated``
    An elliptical Gaussian (bad tracking or wind shake): axis ratio and angle.
``defocused``
    A uniform annulus (a donut) with a central obscuration.

Every kernel has unit sum and the FWHM asked for: for ``elongated`` the
geometric mean of the major- and minor-axis FWHMs, for ``defocused`` the outer
diameter (the half-maximum contour of a flat annulus is its outer edge).
Kernels are integrated over pixels by sampling each pixel on a sub-grid.
"""

from __future__ import annotations

__all__ = (
    "PSF_FAMILIES",
    "PsfFamilyParameters",
    "double_gaussian_core_sigma",
    "draw_family_parameters",
    "family_kernel",
    "kernel_transfer",
    "misfit_parameters",
)

from dataclasses import dataclass, replace

import numpy as np
import scipy.fft

from .psf import FWHM_PER_SIGMA

PSF_FAMILIES = ("gaussian", "doubleGaussian", "moffat", "elongated", "defocused")
"""Names of the PSF families."""


@dataclass(frozen=True)
class PsfFamilyParameters:
    """The shape kernel of one visit.

    Parameters
    ----------
    family : `str`
        One of `PSF_FAMILIES`.
    fwhm : `float`
        FWHM of the kernel, pixels (unused for ``gaussian``).
    beta : `float`
        Moffat index.
    wing_fraction : `float`
        Flux fraction of the ``doubleGaussian`` wing.
    wing_ratio : `float`
        Wing over core sigma of ``doubleGaussian``.
    axis_ratio : `float`
        Minor over major axis of ``elongated``.
    angle : `float`
        Position angle of the ``elongated`` major axis, degrees from the x axis.
    obscuration : `float`
        Inner over outer radius of the ``defocused`` annulus.
    """

    family: str = "gaussian"
    fwhm: float = 0.0
    beta: float = 3.0
    wing_fraction: float = 0.1
    wing_ratio: float = 3.0
    axis_ratio: float = 1.0
    angle: float = 0.0
    obscuration: float = 0.4

    @property
    def is_identity(self) -> bool:
        """Whether the kernel is the identity (the ``gaussian`` family)."""
        return self.family == "gaussian"

    def as_metadata(self) -> dict[str, float | str]:
        """Image metadata (``SIM_PSF_*`` keys) recording the family and its parameters."""
        meta: dict[str, float | str] = {"SIM_PSF_FAMILY": self.family}
        if self.is_identity:
            return meta
        meta["SIM_PSF_KERNEL_FWHM"] = self.fwhm
        extra = {
            "moffat": {"SIM_PSF_BETA": self.beta},
            "doubleGaussian": {
                "SIM_PSF_WING_FRACTION": self.wing_fraction,
                "SIM_PSF_WING_RATIO": self.wing_ratio,
            },
            "elongated": {"SIM_PSF_AXIS_RATIO": self.axis_ratio, "SIM_PSF_ANGLE": self.angle},
            "defocused": {"SIM_PSF_OBSCURATION": self.obscuration},
        }
        meta.update(extra.get(self.family, {}))
        return meta


def double_gaussian_core_sigma(fwhm: float, wing_fraction: float, wing_ratio: float) -> float:
    """Core sigma of a core-plus-wing mixture whose FWHM is ``fwhm``.

    Parameters
    ----------
    fwhm : `float`
        FWHM of the mixture, pixels.
    wing_fraction : `float`
        Flux fraction of the wing.
    wing_ratio : `float`
        Wing over core sigma.
    """

    def profile(r: np.ndarray) -> np.ndarray:
        core = (1.0 - wing_fraction) * np.exp(-0.5 * r**2)
        wing = wing_fraction / wing_ratio**2 * np.exp(-0.5 * (r / wing_ratio) ** 2)
        return core + wing

    # Half-maximum radius of the unit-core mixture, by bisection (the profile decreases with r).
    half = 0.5 * profile(np.array(0.0))
    lo, hi = 0.0, 2.0 * wing_ratio * FWHM_PER_SIGMA
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if profile(np.array(mid)) > half else (lo, mid)
    return fwhm / (2.0 * 0.5 * (lo + hi))


def _profile(params: PsfFamilyParameters, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Un-normalized surface brightness of a family at offsets ``x, y`` (pixels) from its centre."""
    f = params.fwhm
    r2 = x * x + y * y
    if params.family == "doubleGaussian":
        s = double_gaussian_core_sigma(f, params.wing_fraction, params.wing_ratio)
        w, q = params.wing_fraction, params.wing_ratio
        return (1.0 - w) / s**2 * np.exp(-0.5 * r2 / s**2) + w / (q * s) ** 2 * np.exp(
            -0.5 * r2 / (q * s) ** 2
        )
    if params.family == "moffat":
        alpha = f / (2.0 * np.sqrt(2.0 ** (1.0 / params.beta) - 1.0))
        return (1.0 + r2 / alpha**2) ** (-params.beta)
    if params.family == "elongated":
        s = f / FWHM_PER_SIGMA
        theta = np.radians(params.angle)
        along = x * np.cos(theta) + y * np.sin(theta)
        across = -x * np.sin(theta) + y * np.cos(theta)
        s_major, s_minor = s / np.sqrt(params.axis_ratio), s * np.sqrt(params.axis_ratio)
        return np.exp(-0.5 * ((along / s_major) ** 2 + (across / s_minor) ** 2))
    if params.family == "defocused":
        outer = 0.5 * f
        inner = params.obscuration * outer
        return ((r2 <= outer**2) & (r2 >= inner**2)).astype(float)
    if params.family == "gaussian":
        s = max(f, 1e-3) / FWHM_PER_SIGMA
        return np.exp(-0.5 * r2 / s**2)
    raise ValueError(f"Unknown PSF family {params.family!r}; expected one of {PSF_FAMILIES}.")


def family_kernel(params: PsfFamilyParameters, half: int | None = None, oversample: int = 5) -> np.ndarray:
    """Pixel-integrated, unit-sum kernel of a PSF family, centred on the central pixel.

    Parameters
    ----------
    params : `PsfFamilyParameters`
        The family and its parameters (``fwhm`` in pixels).
    half : `int`, optional
        Half-width of the stamp; default ``ceil(4 * fwhm) + 2``.
    oversample : `int`
        Samples per pixel and axis.

    Returns
    -------
    kernel : `numpy.ndarray`, shape (2 * half + 1, 2 * half + 1)
        The kernel; a delta function for the ``gaussian`` family.
    """
    if half is None:
        half = int(np.ceil(4.0 * params.fwhm)) + 2
    if params.is_identity:
        kernel = np.zeros((2 * half + 1, 2 * half + 1))
        kernel[half, half] = 1.0
        return kernel
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    grid = np.arange(-half, half + 1)
    coords = (grid[:, None] + sub[None, :]).ravel()
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    fine = _profile(params, xx, yy)
    n = 2 * half + 1
    kernel = fine.reshape(n, oversample, n, oversample).sum(axis=(1, 3))
    return kernel / kernel.sum()


def kernel_transfer(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Transfer function (real FFT) of a centred, centrosymmetric kernel on images of ``shape``.

    Multiplying an image's `scipy.fft.rfft2` by it convolves the image with
    the kernel without shifting it (the kernel's centre is put at the origin).
    """
    half_y, half_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.zeros(shape, dtype=np.float32)
    padded[: kernel.shape[0], : kernel.shape[1]] = kernel
    padded = np.roll(padded, (-half_y, -half_x), axis=(0, 1))
    # A centrosymmetric kernel has a real transform; drop the rounding-level imaginary part.
    return scipy.fft.rfft2(padded).real.astype(np.float32)


def draw_family_parameters(
    rng: np.random.Generator,
    families: list[str],
    weights: list[float],
    fwhm: float,
    *,
    beta_range: tuple[float, float],
    wing_fraction_range: tuple[float, float],
    wing_ratio: float,
    axis_ratio_range: tuple[float, float],
    obscuration_range: tuple[float, float],
) -> PsfFamilyParameters:
    """Draw a visit's PSF family and its parameters.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random generator.
    families : `list` [`str`]
        Families to choose from.
    weights : `list` [`float`]
        Relative probability of each family.
    fwhm : `float`
        FWHM of the family kernel, pixels.
    beta_range, wing_fraction_range, axis_ratio_range, obscuration_range : `tuple` [`float`, `float`]
        Ranges of the Moffat index, the wing flux fraction, the axis ratio
        and the central obscuration, drawn uniformly.
    wing_ratio : `float`
        Wing over core sigma of ``doubleGaussian``.
    """
    p = np.asarray(weights, dtype=float)
    family = str(families[int(rng.choice(len(families), p=p / p.sum()))])
    # Every parameter is drawn whatever the family, so the random stream does not depend on it.
    return PsfFamilyParameters(
        family=family,
        fwhm=float(fwhm),
        beta=float(rng.uniform(*beta_range)),
        wing_fraction=float(rng.uniform(*wing_fraction_range)),
        wing_ratio=float(wing_ratio),
        axis_ratio=float(rng.uniform(*axis_ratio_range)),
        angle=float(rng.uniform(0.0, 180.0)),
        obscuration=float(rng.uniform(*obscuration_range)),
    )


def misfit_parameters(
    rng: np.random.Generator, params: PsfFamilyParameters, misfit: float
) -> PsfFamilyParameters:
    """The subtraction's estimate of a family kernel: its width, shape and angle slightly wrong.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random generator.
    params : `PsfFamilyParameters`
        The true kernel.
    misfit : `float`
        Typical fractional error of the width, Moffat index, wing fraction
        and axis ratio (the angle is off by ``misfit * 45`` degrees).
    """
    errors = misfit * rng.standard_normal(5)
    if params.is_identity:
        return params
    return replace(
        params,
        fwhm=params.fwhm * max(1.0 + errors[0], 0.3),
        beta=max(params.beta * (1.0 + errors[1]), 1.2),
        wing_fraction=float(np.clip(params.wing_fraction * (1.0 + errors[2]), 0.0, 0.9)),
        axis_ratio=float(np.clip(params.axis_ratio * (1.0 + errors[3]), 0.1, 1.0)),
        angle=params.angle + 45.0 * errors[4],
    )
