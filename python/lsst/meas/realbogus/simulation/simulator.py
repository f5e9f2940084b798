"""Simulate science, template and difference images of a detector, with detections and truth.

The static sky of each (field, detector, band) is drawn once, noiselessly, at
the template PSF on a canvas slightly larger than the detector.  The template
is that sky plus deep-coadd noise, drawn once and reused by every visit, as a
survey's template is.  A visit's science image is the static sky convolved with
the visit's spatially varying PSF-matching kernel (so its PSF is the template
PSF broadened by the seeing) and shifted by the visit's misregistration, plus
transients, variable stars, artifacts, sky and Poisson noise, saturation and
bleed.  The difference image subtracts the template convolved with an
*estimated* kernel and flux scale, which leaves the realistic residuals of
imperfect PSF matching and registration on bright sources.  Detection and
measurement then run on the difference image as alert production does.

With ``templateBlurRange`` the template is the static sky blurred further, so
it can be broader than a field's sharper visits; those are subtracted the other
way round, the science image convolved to the template's PSF (Alard & Lupton's
convolve-science mode; see `MatchingKernel`) and the difference decorrelated.
"""

from __future__ import annotations

__all__ = (
    "DetectorSimulator",
    "DetectorVisit",
    "MatchingKernel",
    "VisitConditions",
    "draw_seeing",
    "field_seeing_factor",
    "field_template_fwhm",
    "make_rng",
    "plan_visits",
)

import os
import zlib
from dataclasses import dataclass, field

import astropy.table
import astropy.units as u
import numpy as np
import scipy.fft
import scipy.signal
from scipy import ndimage

from . import artifacts
from .camera import CameraGeometry
from .config import SimulationConfig
from .detection import detect, merge_dipoles, psf_noise, psf_photometry, significance_image
from .psf import (
    FWHM_PER_SIGMA,
    GaussianMixture,
    KernelBasis,
    KernelModel,
    VaryingConvolver,
    add_stamps,
    extract_stamps,
    gaussian_stamps,
)
from .psf_families import (
    PsfFamilyParameters,
    draw_family_parameters,
    family_kernel,
    kernel_transfer,
    misfit_parameters,
)
from .quality import VisitQuality, background_layer, draw_visit_quality, quality_psf_family
from .resampling import resample
from .scene import REAL_KINDS, draw_galaxies, mag_to_flux, make_static_sky, make_transients
from .skymap import TractInfo

MASK_KEYS = ("BAD", "SATURATED", "COSMIC_RAY", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA")


def make_rng(seed: int, *key: object) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``key`` (so work can be done in any order)."""
    words = [seed] + [zlib.crc32(str(k).encode()) for k in key]
    return np.random.default_rng(np.random.SeedSequence(words))


@dataclass(frozen=True)
class VisitConditions:
    """Observing conditions and processing errors of one visit."""

    visit: int
    tract: int
    field: int
    band: str
    epoch: int
    mjd: float
    seeing: float
    """Science PSF FWHM at the field centre, arcsec."""
    sky_sigma: float
    """Per-pixel sky noise, nJy."""
    kernel: KernelModel
    """True PSF-matching kernel variance model."""
    kernel_factor: float
    """Estimated over true kernel variance."""
    shift: tuple[float, float]
    """Misregistration of the science image relative to the template, pixels ``(dy, dx)``."""
    flux_scale_error: float
    """Fractional error of the template flux scaling."""
    psf_family: PsfFamilyParameters = PsfFamilyParameters()
    """Shape kernel of the science PSF (identity for the ``gaussian`` family)."""
    psf_family_estimate: PsfFamilyParameters = PsfFamilyParameters()
    """The subtraction's estimate of ``psf_family``."""
    saturation_level: float = 80000.0
    """Saturation level, nJy."""
    saturation_masked: bool = True
    """Whether saturated pixels are flagged SATURATED."""
    resample_kernel: str = "none"
    """Interpolation kernel resampling the science exposure (``none``: not resampled)."""
    resample_offset: tuple[float, float] = (0.0, 0.0)
    """Sub-pixel offset ``(dy, dx)`` of the resampling."""
    spike_rotation: float = 0.0
    """Rotation of the science's diffraction spikes against the template's, degrees."""
    quality: VisitQuality = VisitQuality()
    """The visit's quality problem (``good``: none)."""
    pixel_scale: float = 0.2
    """Pixel scale of the visit's field, arcsec per pixel (`field_pixel_scale`)."""


def draw_seeing(
    rng: np.random.Generator,
    seeing_range: tuple[float, float],
    distribution: str = "uniform",
    stratum: tuple[int, int] | None = None,
) -> float:
    """Draw a visit's seeing from one uniform number of ``rng``.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The visit's generator (one draw is taken, whatever the options).
    seeing_range : `tuple` [`float`, `float`]
        Lowest and highest seeing, arcsec.
    distribution : `str`, optional
        ``"uniform"`` in arcsec or ``"logUniform"`` in log(FWHM).
    stratum : `tuple` [`int`, `int`], optional
        ``(k, n)``: draw within the k-th of n equal-probability strata of ``distribution``.

    Returns
    -------
    seeing : `float`
        Science PSF FWHM, arcsec.
    """
    lo, hi = seeing_range
    if distribution not in ("uniform", "logUniform"):
        raise ValueError(f"unknown seeing distribution {distribution!r}; use 'uniform' or 'logUniform'")
    if stratum is None and distribution == "uniform":
        # Exactly the draw repositories made before these options were.
        return float(rng.uniform(lo, hi))
    quantile = rng.uniform()
    if stratum is not None:
        k, n = stratum
        quantile = (k + quantile) / n
    if distribution == "logUniform":
        return float(np.exp(np.log(lo) + quantile * (np.log(hi) - np.log(lo))))
    return float(lo + quantile * (hi - lo))


def _field_entry(values: list[float], field: int, default: float) -> float:
    """A field's entry of a per-field list (entry k modulo its length), or ``default`` if it is empty."""
    return float(values[field % len(values)]) if values else default


def field_pixel_scale(config: SimulationConfig, field: int) -> float:
    """Pixel scale of a field, arcsec per pixel (``pixelScale`` unless ``fieldPixelScales`` is set)."""
    return _field_entry(config.fieldPixelScales, field, config.pixelScale)


def field_seeing_factor(config: SimulationConfig, field: int) -> float:
    """Factor on a field's seeing and template PSF FWHM (1 unless ``fieldSeeingFactors`` is set)."""
    return _field_entry(config.fieldSeeingFactors, field, 1.0)


def field_template_blur(config: SimulationConfig, seed: int, tract: int, field: int) -> float:
    """FWHM (arcsec) of the Gaussian blurring a field's template (0 unless ``templateBlurRange`` is set)."""
    if not config.templateBlurRange or (config.templateBlurFields and field not in config.templateBlurFields):
        return 0.0
    return float(make_rng(seed, "template-blur", tract, field).uniform(*config.templateBlurRange))


@dataclass(frozen=True)
class MatchingKernel:
    """Variance model of the estimated kernel that matches a visit's sharper image to its broader one.

    The science PSF is the static sky's PSF broadened by ``science`` (a `KernelModel`; a non-Gaussian
    family's kernel comes on top, and the subtraction carries its estimate over to the template), the
    template's by a constant ``template_s2``.  Where the science's Gaussian part is the broader, the
    template is convolved with a Gaussian of variance ``science - template_s2``; a visit where it is
    sharper at the detector centre (``convolve_science``) has its science image convolved with one of
    ``template_s2 - science`` instead.  Either variance is clipped at 0 (a kernel cannot sharpen) and
    scaled by ``factor``, the subtraction's misestimate.
    """

    science: KernelModel
    template_s2: float
    factor: float
    convolve_science: bool

    def sigma2(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Estimated kernel variance at focal-plane positions ``u, v``, pixels squared."""
        delta = self.science.sigma2(u, v) - self.template_s2
        return np.maximum(-delta if self.convolve_science else delta, 0.0) * self.factor

    @property
    def s2(self) -> float:
        """Estimated kernel variance at the focal-plane centre, pixels squared."""
        return float(self.sigma2(np.zeros(1), np.zeros(1))[0])


def field_template_fwhm(config: SimulationConfig, seed: int, tract: int, field: int) -> float:
    """Template PSF FWHM of a field, arcsec: ``templatePsfFwhm`` or a draw in its range, times its factor."""
    factor = field_seeing_factor(config, field)
    if not config.templatePsfFwhmRange:
        return config.templatePsfFwhm * factor
    return float(make_rng(seed, "template-psf", tract, field).uniform(*config.templatePsfFwhmRange)) * factor


def _draw_variety(
    config: SimulationConfig, seed: int, visit: int, seeing_px: float, template_px: float
) -> dict:
    """The per-visit variety of `VisitConditions` (its own random stream: defaults change nothing)."""
    rng = make_rng(seed, "visit-variety", visit)
    fwhm = np.sqrt(config.psfShapeFraction * max(seeing_px**2 - template_px**2, 0.0))
    family = draw_family_parameters(
        rng,
        list(config.psfFamilies),
        list(config.psfFamilyWeights),
        fwhm,
        beta_range=tuple(config.moffatBetaRange),
        wing_fraction_range=tuple(config.psfWingFractionRange),
        wing_ratio=config.psfWingRatio,
        axis_ratio_range=tuple(config.elongationAxisRatioRange),
        obscuration_range=tuple(config.defocusObscurationRange),
    )
    estimate = misfit_parameters(rng, family, config.psfFamilyMisfit)
    level = None
    if config.saturationLevelRange:
        low, high = config.saturationLevelRange
        # One number either way, so the draws after it are the same.
        if config.saturationLevelLogUniform:
            level = np.exp(rng.uniform(np.log(low), np.log(high)))
        else:
            level = rng.uniform(low, high)
    masked = bool(rng.uniform() >= config.unmaskedSaturationFraction)
    kernels = list(config.resampleKernels) or ["none"]
    kernel = str(kernels[int(rng.integers(len(kernels)))])
    offset = (float(rng.uniform()), float(rng.uniform()))
    rotation = float(rng.uniform(*config.spikeRotationRange) * rng.choice([-1.0, 1.0]))
    return {
        "psf_family": family,
        "psf_family_estimate": estimate,
        "saturation_level": float(level if level is not None else config.saturationLevel),
        "saturation_masked": masked,
        "resample_kernel": kernel,
        "resample_offset": offset if kernel != "none" else (0.0, 0.0),
        "spike_rotation": rotation,
    }


def _draw_quality(config: SimulationConfig, seed: int, visit: int) -> VisitQuality:
    """The visit's quality problem (its own random stream; no rates: ``good``, nothing drawn)."""
    if not config.qualityRates:
        return VisitQuality()
    return draw_visit_quality(
        make_rng(seed, "visit-quality", visit),
        dict(config.qualityRates),
        tracking_range=config.trackingTrailRange,
        severe_tracking_range=config.severeTrackingTrailRange,
        focus_range=config.badFocusDiameterRange,
        obscuration_range=config.defocusObscurationRange,
        seeing_range=config.badSeeingFactorRange,
        background_range=config.backgroundAmplitudeRange,
        high_sky_range=config.highSkyFactorRange,
        short_exposure_range=config.shortExposureRange,
    )


def plan_visits(config: SimulationConfig, tracts: list[TractInfo], seed: int) -> list[VisitConditions]:
    """Draw every visit's conditions.

    Visit ids encode tract index, field, band and epoch: ``(t + 1) * 10000 + f * 100 + b * 20 + e``.
    """
    visits = []
    n_field_visits = len(config.bands) * config.visitsPerField
    for t, tract in enumerate(tracts):
        for f in range(config.fieldsPerTract):
            template_fwhm = field_template_fwhm(config, seed, tract.id, f)
            seeing_range = tuple(x * field_seeing_factor(config, f) for x in config.seeingRange)
            template_sigma = template_fwhm / config.pixelScale / FWHM_PER_SIGMA
            # A field of coarser pixels: the same sky per square arcsecond, so the noise per pixel grows
            # as the square root of the pixel's area (a factor of exactly 1 at pixelScale).
            pixel_scale = field_pixel_scale(config, f)
            sky_scale = pixel_scale / config.pixelScale
            strata = make_rng(seed, "seeing-strata", tract.id, f).permutation(n_field_visits)
            for b, band in enumerate(config.bands):
                for e in range(config.visitsPerField):
                    visit = (t + 1) * 10000 + f * 100 + b * 20 + e
                    rng = make_rng(seed, "visit", visit)
                    stratum = int(strata[b * config.visitsPerField + e]) if config.stratifySeeing else None
                    seeing = draw_seeing(
                        rng,
                        seeing_range,
                        config.seeingDistribution,
                        None if stratum is None else (stratum, n_field_visits),
                    )
                    quality = _draw_quality(config, seed, visit)
                    seeing *= quality.seeing_factor
                    s2 = (seeing / config.pixelScale / FWHM_PER_SIGMA) ** 2 - template_sigma**2
                    variety = _draw_variety(
                        config, seed, visit, seeing / config.pixelScale, template_fwhm / config.pixelScale
                    )
                    problem_family = quality_psf_family(quality, seeing / config.pixelScale)
                    if problem_family is not None:
                        # Trailing or defocus convolves the whole PSF; the subtraction models it.
                        variety["psf_family"] = variety["psf_family_estimate"] = problem_family
                    elif not variety["psf_family"].is_identity:
                        # The family kernel carries part of the broadening; the Gaussian kernel the rest.
                        s2 *= 1.0 - config.psfShapeFraction
                    kernel = KernelModel(
                        s2=s2,
                        gx=config.psfGradient * rng.standard_normal(),
                        gy=config.psfGradient * rng.standard_normal(),
                        gr=rng.uniform(0, config.psfRadialTerm),
                    )
                    bad_kernel = rng.uniform() < config.badKernelProbability
                    k_err = config.badKernelError if bad_kernel else config.kernelError
                    bad_astrometry = rng.uniform() < config.badAstrometryProbability
                    a_err = config.badAstrometricError if bad_astrometry else config.astrometricError
                    # In the order these were always drawn, so repositories made before reproduce.
                    sky_sigma = (
                        config.skySigma * sky_scale * rng.uniform(*config.skySigmaRange) * quality.sky_factor
                    )
                    kernel_factor = float(max(1.0 + k_err * rng.standard_normal(), 0.3))
                    shift = (float(a_err * rng.standard_normal()), float(a_err * rng.standard_normal()))
                    flux_scale = rng.standard_normal()
                    # Drawn last, and only when asked for, so the other draws stay as they were.
                    p_bad = config.badPhotometryProbability
                    bad_photometry = p_bad > 0 and rng.uniform() < p_bad
                    p_err = config.badPhotometricError if bad_photometry else config.photometricError
                    visits.append(
                        VisitConditions(
                            visit=visit,
                            tract=tract.id,
                            field=f,
                            band=band,
                            epoch=e,
                            mjd=61000.0 + 3.0 * e + 0.01 * b + 0.3 * t + 0.05 * f,
                            seeing=seeing,
                            sky_sigma=sky_sigma,
                            kernel=kernel,
                            kernel_factor=kernel_factor,
                            shift=shift,
                            flux_scale_error=float(p_err * flux_scale),
                            quality=quality,
                            pixel_scale=pixel_scale,
                            **variety,
                        )
                    )
    return visits


@dataclass
class DetectorVisit:
    """Everything simulated for one visit and detector (pixel arrays are float32, masks bool)."""

    visit: VisitConditions
    detector: int
    science: np.ndarray
    science_variance: np.ndarray
    science_masks: dict[str, np.ndarray]
    template: np.ndarray
    template_variance: np.ndarray
    template_masks: dict[str, np.ndarray]
    difference: np.ndarray
    difference_variance: np.ndarray
    difference_masks: dict[str, np.ndarray]
    science_psf_sigma: float
    template_psf_sigma: float
    dia_sources: astropy.table.Table
    truth: astropy.table.Table
    metadata: dict[str, float | int | str] = field(default_factory=dict)
    difference_psf_sigma: float | None = None
    """PSF sigma of the difference image (`None`: the science's; set when the science was convolved
    to the template and the difference decorrelated: the effective sigma of the decorrelated PSF)."""


class DetectorSimulator:
    """The static sky and template of one (field, detector, band), and the visits that observe it.

    Parameters
    ----------
    config : `SimulationConfig`
        Simulation configuration.
    camera : `CameraGeometry`
        The camera.
    tract : `TractInfo`
        The tract.
    field : `int`
        Field index within the tract.
    detector : `int`
        Detector id.
    band : `str`
        Band.
    seed : `int`
        Random seed of the whole repository.
    """

    def __init__(
        self,
        config: SimulationConfig,
        camera: CameraGeometry,
        tract: TractInfo,
        field: int,
        detector: int,
        band: str,
        seed: int,
    ) -> None:
        self.config = config
        self.camera = camera
        self.tract = tract
        self.field = field
        self.detector = detector
        self.band = band
        self.seed = seed
        size, m = config.detectorSize, config.canvasMargin
        self.size, self.margin = size, m
        self.shape = (size + 2 * m, size + 2 * m)
        self.area_scale = (size / 1024.0) ** 2
        self.template_fwhm = field_template_fwhm(config, seed, tract.id, field)
        self.pixel_scale = field_pixel_scale(config, field)
        # The field's pixels (fieldPixelScales): its sky's densities and sizes, and its sky noise per pixel
        # (exactly skySigma at pixelScale); the PSF keeps its width in pixels.
        self.sky_sigma = config.skySigma * (self.pixel_scale / config.pixelScale)
        # The static sky is drawn at the base PSF; the template is it, blurred by templateBlurRange.
        self.base_psf = GaussianMixture.double_gaussian(self.template_fwhm / config.pixelScale)
        blur_sigma = field_template_blur(config, seed, tract.id, field) / config.pixelScale / FWHM_PER_SIGMA
        self.blur_s2 = blur_sigma**2
        self.template_psf = self.base_psf
        if self.blur_s2 > 0:
            self.template_psf = GaussianMixture(
                self.base_psf.amplitudes, np.sqrt(self.base_psf.sigmas**2 + self.blur_s2)
            )
        self.basis = KernelBasis(step=0.5, maximum=60.0)
        self.convolver = VaryingConvolver(self.shape, self.basis)

        rng = make_rng(seed, "static", tract.id, field, detector, band)
        area = self.shape[0] * self.shape[1] * (self.pixel_scale / 3600.0) ** 2
        self.stars, self.galaxies = make_static_sky(
            rng,
            self.shape,
            area,
            star_density=config.starDensity,
            star_mags=tuple(config.starMags),
            galaxy_density=config.galaxyDensity,
            galaxy_mags=tuple(config.galaxyMags),
            pixel_scale=self.pixel_scale,
            n_variable=config.nVariableStars,
            variable_mags=tuple(config.variableMags),
            n_bright=config.nBrightStars,
            bright_mags=tuple(config.brightStarMags),
            margin=m,
            id_offset=((tract.id * 100 + field) * 1000 + detector) * 100_000,
        )
        static = np.zeros(self.shape)
        self._draw_stars(static)
        real_catalog = None
        if config.realGalaxyCatalog:
            import galsim

            path = os.path.abspath(config.realGalaxyCatalog)
            real_catalog = galsim.RealGalaxyCatalog(os.path.basename(path), dir=os.path.dirname(path))
            bright = (self.galaxies["flux"] > mag_to_flux(22.0)) & (
                rng.uniform(size=len(self.galaxies["flux"])) < config.realGalaxyFraction
            )
            self.galaxies["real"] = np.where(bright, rng.integers(0, real_catalog.nobjects, bright.size), -1)
        draw_galaxies(
            static, self.galaxies, self._base_psf_galsim(), real_catalog, pixel_scale=self.pixel_scale
        )
        self.static = static
        self.static_fft = self.convolver.forward(static)
        self.template_static = static
        self.template_static_fft = self.static_fft
        if self.blur_s2 > 0:
            blur_transfer = self.convolver.gaussian_transfer(self.blur_s2)
            self.template_static_fft = self.static_fft * blur_transfer
            self.template_static = scipy.fft.irfft2(self.template_static_fft, s=self.shape, workers=-1)
        # The template: the static sky plus the noise of a deep coadd, drawn once.
        depth = config.templateDepth
        if config.templateDepthRange:
            depth = make_rng(seed, "template-depth", tract.id, field, detector, band).uniform(
                *config.templateDepthRange
            )
        self.template_depth = float(depth)
        sky = self.sky_sigma / np.sqrt(depth)
        self.template_variance = sky**2 + config.gain * np.maximum(self.template_static, 0.0) / depth
        noise = rng.standard_normal(self.shape) * np.sqrt(self.template_variance)
        self.template = self.template_static + noise
        # Diffraction spikes of the brightest stars, in the template at the template's angle.
        self.spikes = self._make_spikes(make_rng(seed, "spikes", tract.id, field, detector, band))
        if len(self.spikes["x"]):
            artifacts.draw_diffraction_spikes(self.template, self.spikes, self.template_psf.effective_sigma)
        self.template_fft = self.convolver.forward(self.template)

        # Detector defects do not change from visit to visit.
        defects = make_rng(seed, "defects", detector)
        n_hot = int(round(config.nHotPixels * self.area_scale))
        n_cols = config.nBadColumns
        self.hot_pixels = artifacts.make_hot_pixels(
            defects, n_hot, size, self.sky_sigma, config.hotPixelMaskedFraction
        )
        self.bad_columns = artifacts.make_bad_columns(
            defects, n_cols, size, self.sky_sigma, config.badColumnMaskedFraction
        )

        yy, xx = np.mgrid[0 : self.shape[0], 0 : self.shape[1]]
        self.u, self.v = camera.focal_plane(detector, xx - m, yy - m)

    def _make_spikes(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Diffraction spikes of the brightest stars inside the detector (canvas coordinates)."""
        n = rng.poisson(self.config.diffractionSpikeRate) if self.config.diffractionSpikeRate > 0 else 0
        m, size = self.margin, self.size
        x, y, flux = self.stars["x"], self.stars["y"], self.stars["flux"]
        inside = np.flatnonzero((x >= m) & (x < m + size) & (y >= m) & (y < m + size))
        brightest = inside[np.argsort(flux[inside])[::-1][:n]]
        return artifacts.make_diffraction_spikes(
            rng, x[brightest], y[brightest], flux[brightest], tuple(self.config.spikeFluxFractionRange)
        )

    # ------------------------------------------------------------------ PSFs

    def _draw_stars(self, canvas: np.ndarray) -> None:
        amps = self.base_psf.amplitudes[None, :]
        sigmas = self.base_psf.sigmas[None, :]
        bright = self.stars["flux"] > 2e5
        for sel, half in ((~bright, 16), (bright, 48)):
            n = int(sel.sum())
            if n == 0:
                continue
            stamps, xi, yi = gaussian_stamps(
                self.stars["x"][sel],
                self.stars["y"][sel],
                np.repeat(amps, n, 0),
                np.repeat(sigmas, n, 0),
                half,
            )
            add_stamps(canvas, stamps * self.stars["flux"][sel][:, None, None], xi, yi)

    def _base_psf_galsim(self):
        import galsim

        return galsim.Sum(
            [galsim.Gaussian(sigma=s, flux=a) for a, s in zip(self.base_psf.amplitudes, self.base_psf.sigmas)]
        )

    def psf_components(
        self, kernel: KernelModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian-mixture science PSF at detector positions ``x, y``.

        Returns
        -------
        amplitudes, sigmas : `numpy.ndarray`, shape (N, C)
        """
        uu, vv = self.camera.focal_plane(self.detector, x, y)
        indices, weights = self.basis.weights(kernel.sigma2(uu, vv))
        n_comp = len(self.base_psf.amplitudes)
        amps = (self.base_psf.amplitudes[None, :, None] * weights.T[:, None, :]).reshape(len(x), -1)
        s2 = self.base_psf.sigmas[:, None] ** 2 + self.basis.sigma2[indices][None, :]
        sigmas = np.broadcast_to(np.sqrt(s2).reshape(1, -1), (len(x), n_comp * len(indices)))
        return amps, np.array(sigmas)

    def psf_sigma(self, kernel: KernelModel) -> float:
        """Effective Gaussian sigma of the science PSF at the detector centre, pixels."""
        c = np.array([(self.size - 1) / 2])
        amps, sigmas = self.psf_components(kernel, c, c)
        return GaussianMixture(amps[0], sigmas[0]).effective_sigma

    # ---------------------------------------------------------------- visits

    def _crop(self, array: np.ndarray) -> np.ndarray:
        m = self.margin
        return array[m : m + self.size, m : m + self.size]

    def psf_image(self, kernel: KernelModel, family: PsfFamilyParameters) -> np.ndarray:
        """Unit-sum image of the science PSF at the detector centre, family kernel included.

        The PSF's centre is on the central pixel of the odd-sized stamp.
        """
        c = np.array([(self.size - 1) / 2])
        amps, sigmas = self.psf_components(kernel, c, c)
        shape_kernel = family_kernel(family)
        half = int(np.ceil(5 * sigmas.max())) + shape_kernel.shape[0] // 2 + 2
        stamp, _, _ = gaussian_stamps(np.zeros(1), np.zeros(1), amps, sigmas, half)
        psf = scipy.signal.fftconvolve(stamp[0], shape_kernel, mode="same")
        return psf / psf.sum()

    def _family_psf_sigma(self, kernel: KernelModel, family: PsfFamilyParameters) -> float:
        """Effective sigma of the science PSF at the detector centre, with the family kernel."""
        psf = self.psf_image(kernel, family)
        return float(np.sqrt(1.0 / (4.0 * np.pi * np.sum(psf**2))))

    def _optional_artifacts(
        self, rng: np.random.Generator, visit: VisitConditions, psf_sigma: float
    ) -> tuple[
        list[dict[str, np.ndarray]],
        np.ndarray | None,
        np.ndarray | None,
        dict[str, np.ndarray],
        np.ndarray | None,
    ]:
        """Draw the optional artifact kinds of a visit.

        Returns
        -------
        found : `list` [`dict`]
            Truth catalogs of the artifacts drawn.
        optical : `numpy.ndarray` or `None`
            Light through the optics (spikes, ghosts, glints): convolved with the family kernel.
        electronic : `numpy.ndarray` or `None`
            Signal added after the optics (core residuals, amplifier offsets, edge glow).
        layers : `dict` [`str`, `numpy.ndarray`]
            Noiseless signal of each extended kind in the difference image, for naming detections.
        vignetting : `numpy.ndarray` or `None`
            Throughput of the vignetted pixels, or `None`.
        """
        config, size, m = self.config, self.size, self.margin
        found: list[dict[str, np.ndarray]] = []
        layers: dict[str, np.ndarray] = {}
        shape = (size, size)
        optical = np.zeros(shape) if (config.ghostRate or config.glintRate or len(self.spikes["x"])) else None
        dy, dx = visit.shift

        def count(rate: float) -> int:
            return int(rng.poisson(rate)) if rate > 0 else 0

        if len(self.spikes["x"]):
            spikes = {k: np.array(v) for k, v in self.spikes.items()}
            spikes["x"] = spikes["x"] - m + dx
            spikes["y"] = spikes["y"] - m + dy
            layer = np.zeros(shape)
            artifacts.draw_diffraction_spikes(layer, spikes, psf_sigma, visit.spike_rotation)
            optical += layer
            # What the rotation leaves in the difference: science spikes minus the template's.
            artifacts.draw_diffraction_spikes(layer, {**spikes, "flux": -spikes["flux"]}, psf_sigma)
            layers["diffract_spike"] = layer
            spikes["angle"] = spikes["angle"] + visit.spike_rotation
            found.append(spikes)
        for kind, n in (("ghost", count(config.ghostRate)), ("glint", count(config.glintRate))):
            if n == 0:
                continue
            if kind == "ghost":
                drawn = artifacts.make_ghosts(rng, n, size, visit.sky_sigma)
                layer = np.zeros(shape)
                artifacts.draw_ghosts(layer, drawn)
            else:
                drawn = artifacts.make_glints(
                    rng,
                    n,
                    size,
                    visit.sky_sigma,
                    psf_sigma,
                    length_range=tuple(config.glintLengthRange),
                    length_power=config.glintLengthPower,
                )
                layer = np.zeros(shape)
                artifacts.draw_glints(layer, drawn)
            optical += layer
            layers[kind] = layer
            found.append(drawn)

        electronic = None
        # Bright galaxies: those brighter than 21 mag, or at least the 20 brightest.
        gflux = self.galaxies["flux"]
        cut = min(mag_to_flux(21.0), np.sort(gflux)[-min(20, len(gflux))]) if len(gflux) else np.inf
        galaxies_bright = gflux >= cut
        stars_bright = (self.stars["flux"] > mag_to_flux(20.0)) & (self.stars["flux"] < mag_to_flux(16.0))
        psf_image = None
        for kind, rate, catalog, select in (
            ("nuclear_residual", config.nuclearResidualRate, self.galaxies, galaxies_bright),
            ("star_residual", config.starResidualRate, self.stars, stars_bright),
        ):
            n = count(rate)
            if n == 0:
                continue
            x, y = catalog["x"][select] - m + dx, catalog["y"][select] - m + dy
            inside = (x > 2) & (x < size - 3) & (y > 2) & (y < size - 3)
            if psf_image is None and config.residualShape == "psf":
                psf_image = self.psf_image(visit.kernel, visit.psf_family)
            drawn = artifacts.make_residuals(
                rng,
                kind,
                x[inside],
                y[inside],
                n,
                visit.sky_sigma,
                psf_sigma,
                tuple(config.residualSnrRange),
                psf_image,
            )
            layer = np.zeros(shape)
            artifacts.draw_residuals(layer, drawn, psf_sigma, psf_image)
            electronic = layer if electronic is None else electronic + layer
            found.append(drawn)
        for kind, n in (
            ("amp_offset", count(config.ampOffsetRate)),
            ("edge_glow", count(config.edgeGlowRate)),
        ):
            if n == 0:
                continue
            layer = np.zeros(shape)
            if kind == "amp_offset":
                drawn = artifacts.make_amp_offsets(rng, n, size, visit.sky_sigma, psf_sigma)
                artifacts.draw_amp_offsets(layer, drawn)
            else:
                drawn = artifacts.make_edge_glows(rng, n, size, visit.sky_sigma)
                artifacts.draw_edge_glows(layer, drawn)
            electronic = layer if electronic is None else electronic + layer
            layers[kind] = layer
            found.append(drawn)
        n = count(config.vignettingRate)
        vignetting = artifacts.make_vignetting(rng, n, size)
        if n:
            found.append(vignetting)
        return found, optical, electronic, layers, artifacts.vignetting_factor(shape, vignetting)

    def simulate(self, visit: VisitConditions) -> DetectorVisit:
        """Simulate one visit of this detector."""
        config = self.config
        size, m = self.size, self.margin
        rng = make_rng(self.seed, "visit-detector", visit.visit, self.detector)
        true_idx, true_w = self.basis.weights(visit.kernel.sigma2(self.u, self.v))
        convolve_science = False
        if self.blur_s2 > 0:
            c = np.array([(self.size - 1) / 2])
            centre_uv = self.camera.focal_plane(self.detector, c, c)
            centre_s2 = visit.kernel.sigma2(*centre_uv)[0]
            convolve_science = bool(centre_s2 < self.blur_s2)
            est_kernel = MatchingKernel(visit.kernel, self.blur_s2, visit.kernel_factor, convolve_science)
        else:
            est_kernel = visit.kernel.scaled(visit.kernel_factor)
        est_idx, est_w = self.basis.weights(est_kernel.sigma2(self.u, self.v))
        scale = 1.0 + visit.flux_scale_error
        # A non-Gaussian PSF family: the science scene is convolved with its kernel, the template
        # with the subtraction's estimate of it.
        use_family = not visit.psf_family.is_identity
        static_fft, template_fft = self.static_fft, self.template_fft
        matched_static_fft = self.template_static_fft
        if use_family:
            true_transfer = kernel_transfer(family_kernel(visit.psf_family), self.shape)
            est_transfer = kernel_transfer(family_kernel(visit.psf_family_estimate), self.shape)
            static_fft = static_fft * true_transfer
            template_fft = template_fft * est_transfer
            matched_static_fft = matched_static_fft * est_transfer
        # A resampled science exposure is drawn offset by the resampling offset, which moves it back.
        resampled = visit.resample_kernel != "none"
        draw_shift = visit.shift
        if resampled:
            draw_shift = (
                visit.shift[0] + visit.resample_offset[0],
                visit.shift[1] + visit.resample_offset[1],
            )

        # Science image: the convolved, shifted static sky ...
        static_sci_canvas = self.convolver.apply(static_fft, true_idx, true_w, shift=draw_shift)
        static_sci = self._crop(static_sci_canvas)
        noiseless = static_sci.copy()
        # ... plus transients and variable stars, drawn with the local science PSF ...
        transients = make_transients(
            rng,
            size,
            m,
            self.stars,
            self.galaxies,
            n_host=config.nHostTransients,
            n_offset=config.nOffsetTransients,
            n_hostless=config.nHostlessTransients,
            mags=tuple(config.transientMags),
            variable_dmag=tuple(config.variableAmplitude),
            edge_buffer=config.transientEdgeBuffer,
        )
        transients["x"] += draw_shift[1]
        transients["y"] += draw_shift[0]
        base_sigma = self.psf_sigma(visit.kernel)
        psf_sigma = self._family_psf_sigma(visit.kernel, visit.psf_family) if use_family else base_sigma
        extra_s2 = max(psf_sigma**2 - base_sigma**2, 0.0)
        half = int(np.ceil(6 * base_sigma * 2)) + 2
        scene = np.zeros((size, size)) if use_family else noiseless
        if len(transients["x"]):
            amps, sigmas = self.psf_components(visit.kernel, transients["x"], transients["y"])
            stamps, xi, yi = gaussian_stamps(transients["x"], transients["y"], amps, sigmas, half)
            add_stamps(scene, stamps * transients["flux"][:, None, None], xi, yi)
        if resampled:
            transients["x"] -= visit.resample_offset[1]
            transients["y"] -= visit.resample_offset[0]
        # ... plus charge from cosmic rays, hot pixels and satellites ...
        masks = {k: np.zeros((size, size), dtype=bool) for k in MASK_KEYS}
        artifact_layer = np.zeros((size, size))
        n_cr = rng.poisson(config.nCosmicRays * self.area_scale)
        crs = artifacts.make_cosmic_rays(rng, n_cr, size, visit.sky_sigma, config.cosmicRayMaskedFraction)
        artifacts.draw_cosmic_rays(artifact_layer, masks["COSMIC_RAY"], crs)
        artifacts.draw_hot_pixels(artifact_layer, masks["BAD"], self.hot_pixels)
        found = [crs, self.hot_pixels, self.bad_columns]
        if rng.uniform() < config.streakProbability:
            streak = artifacts.make_streak(
                rng,
                size,
                visit.sky_sigma,
                base_sigma,
                tuple(config.streakWidthRange),
                tuple(config.streakFluxRange),
            )
            artifacts.draw_streak(scene if use_family else artifact_layer, streak)
            found.append({k: v for k, v in streak.items() if k != "width"})
        # ... plus the optional artifacts (their own random stream, so defaults are unchanged).
        variety_rng = make_rng(self.seed, "visit-detector-variety", visit.visit, self.detector)
        extra_found, optical, electronic, layers, vignetting = self._optional_artifacts(
            variety_rng, visit, psf_sigma
        )
        found.extend(extra_found)
        if optical is not None:
            scene += optical
        if use_family:
            canvas = np.zeros(self.shape, dtype=np.float32)
            canvas[m : m + size, m : m + size] = scene
            canvas = scipy.fft.irfft2(
                scipy.fft.rfft2(canvas, workers=-1) * true_transfer, s=self.shape, workers=-1
            )
            noiseless += self._crop(canvas)
        elif optical is not None:
            noiseless += optical
        if vignetting is not None:
            # Light and sky lost to uncorrected vignetting (the sky level is variance / gain).
            before = noiseless.copy()
            noiseless *= vignetting
            noiseless -= (1.0 - vignetting) * visit.sky_sigma**2 / config.gain
            layers["vignetting"] = noiseless - before
        if electronic is not None:
            artifact_layer += electronic
        noiseless += artifact_layer
        # ... with sky and Poisson noise, bad columns (an electronic offset), saturation and bleed.
        # A short exposure has more Poisson noise per calibrated flux (dividing by 1 changes nothing).
        sci_var = (
            visit.sky_sigma**2 + config.gain * np.maximum(noiseless, 0.0) / visit.quality.exposure_fraction
        )
        science = noiseless + rng.standard_normal((size, size)) * np.sqrt(sci_var)
        background = background_layer(
            visit.quality,
            size,
            visit.sky_sigma,
            make_rng(self.seed, "visit-detector-quality", visit.visit, self.detector),
        )
        if background is not None:
            # An unsubtracted background: in the pixels, not in the variance or the template.
            science += background
        column_layer = np.zeros((size, size))
        artifacts.draw_bad_columns(column_layer, masks["BAD"], self.bad_columns)
        science += column_layer
        unsaturated = science.copy()
        saturated = artifacts.apply_saturation(science, visit.saturation_level)
        if visit.saturation_masked:
            masks["SATURATED"] = saturated
        else:
            layers["bleed_trail"] = science - unsaturated
        if resampled:
            # Resampling onto the template grid correlates the noise and spreads the flags.
            science, sci_var = resample(science, sci_var, visit.resample_kernel, visit.resample_offset)
            for key in ("BAD", "SATURATED", "COSMIC_RAY"):
                masks[key] = ndimage.binary_dilation(masks[key], np.ones((3, 3), bool))
            saturated = ndimage.binary_dilation(saturated, np.ones((3, 3), bool))

        # Template and difference image.
        template = self._crop(self.template)
        template_var = self._crop(self.template_variance)
        overlaps = self.convolver.kernel_overlaps(est_idx)
        w = est_w[:, m : m + size, m : m + size]
        kernel_power = np.einsum("ayx,ab,byx->yx", w, overlaps, w)
        spread = _identity
        diff_psf_sigma = psf_sigma
        diff_masks = {k: masks[k] for k in ("BAD", "SATURATED", "COSMIC_RAY")}
        if convolve_science:
            # The science image convolved to the template's PSF, the template only by the subtraction's
            # estimate of a non-Gaussian family; then the difference decorrelated (whitened), as Rubin's
            # pipeline and ZOGY leave it.  Images are padded by reflection: the convolutions are periodic.
            def fourier(image: np.ndarray) -> np.ndarray:
                return self.convolver.forward(np.pad(image, m, mode="reflect"))

            def back(image_fft: np.ndarray) -> np.ndarray:
                return self._crop(_inverse(image_fft, self.shape))

            kernel_s2 = float(est_kernel.sigma2(*centre_uv)[0])
            kernel_transfer_sq = self.convolver.gaussian_transfer(2.0 * kernel_s2)
            family_sq = np.abs(est_transfer) ** 2 if use_family else 1.0
            sci_s2 = visit.sky_sigma**2
            tmpl_s2 = scale**2 * float(np.median(template_var))
            decorrelation = np.sqrt((sci_s2 + tmpl_s2) / (sci_s2 * kernel_transfer_sq + tmpl_s2 * family_sq))
            matched = scale * (back(template_fft) if use_family else template)
            convolved = self._crop(self.convolver.apply(fourier(science), est_idx, est_w))
            difference = back(fourier(convolved - matched) * decorrelation)
            diff_var = sci_var + scale**2 * template_var
            psf_transfer = self.convolver.gaussian_transfer(psf_sigma**2 + kernel_s2) * decorrelation
            psf_power = self.convolver.plane_sum(psf_transfer**2) / (self.shape[0] * self.shape[1])
            diff_psf_sigma = float(np.sqrt(1.0 / (4.0 * np.pi * psf_power)))
            # What is in the science frame is spread by the kernel and the decorrelation; its masks are
            # grown by the kernel.
            layer_transfer = np.sqrt(kernel_transfer_sq) * decorrelation

            def spread(layer: np.ndarray) -> np.ndarray:
                return back(fourier(layer) * layer_transfer)

            grow = int(np.ceil(2 * np.sqrt(kernel_s2)))
            disk = np.hypot(*np.mgrid[-grow : grow + 1, -grow : grow + 1]) <= grow
            diff_masks = {k: ndimage.binary_dilation(v, disk) for k, v in diff_masks.items()}
            static_tmpl = _inverse(matched_static_fft, self.shape) if use_family else self.template_static
            static_conv = self.convolver.apply(self.convolver.forward(static_sci_canvas), est_idx, est_w)
            residual = back(fourier(self._crop(static_conv - scale * static_tmpl)) * decorrelation)
        else:
            matched = scale * self._crop(self.convolver.apply(template_fft, est_idx, est_w))
            difference = science - matched
            if use_family:
                kernel_power = kernel_power * self._power_ratio(est_kernel.s2, est_transfer)
            diff_var = sci_var + scale**2 * template_var * kernel_power
            # Noiseless residual of the static sky alone: where imperfect matching leaves bogus detections.
            residual = static_sci - scale * self._crop(
                self.convolver.apply(matched_static_fft, est_idx, est_w)
            )

        # Detection and measurement; saturated pixels carry no information, so they are not smoothed over.
        noise = psf_noise(diff_var, diff_psf_sigma)
        snr = significance_image(np.where(diff_masks["SATURATED"], 0.0, difference), noise, diff_psf_sigma)
        found_det, pos_fp, neg_fp = detect(snr, config.detectionThreshold)
        fwhm = diff_psf_sigma * FWHM_PER_SIGMA
        sources = merge_dipoles(found_det, radius=2.0 * fwhm)
        phot_half = int(np.ceil(3 * diff_psf_sigma)) + 1
        extra_s2 += diff_psf_sigma**2 - psf_sigma**2

        def components(x, y):
            amps, sigmas = self.psf_components(visit.kernel, x, y)
            if extra_s2 > 0:
                sigmas = np.sqrt(sigmas**2 + extra_s2)
            return amps, sigmas

        flux, flux_err = psf_photometry(
            difference, diff_var, sources["x"], sources["y"], components, phot_half
        )
        diff_masks = {
            **diff_masks,
            "DETECTED": pos_fp,
            "DETECTED_NEGATIVE": neg_fp,
            "NO_DATA": masks["NO_DATA"],
        }
        sci_masks = {k: v for k, v in masks.items() if k not in ("DETECTED", "DETECTED_NEGATIVE")}
        t_masks = {"NO_DATA": np.zeros((size, size), dtype=bool)}

        wcs = self.camera.wcs(
            self.detector, self.tract.fields[self.field][0], self.tract.fields[self.field][1]
        )
        dia = self._dia_table(visit, sources, flux, flux_err, diff_masks, wcs)
        _, t_err = psf_photometry(
            difference, diff_var, transients["x"], transients["y"], components, phot_half
        )
        layers = {kind: spread(layer) for kind, layer in layers.items()}
        if layers:
            # Detections anywhere along an extended optional artifact are named after it.
            named = artifacts.attribute_detections(
                sources["x"], sources["y"], layers, noise, diff_psf_sigma, config.attributionSnr
            )
            found.append({k: v for k, v in named.items() if k != "snr"})
        # Signal that is not a transient: what may blend with one.
        if convolve_science:
            other = spread(artifact_layer + column_layer + (science - unsaturated)) + residual
        else:
            other = artifact_layer + column_layer + residual + (science - unsaturated)
        for kind, layer in layers.items():
            if kind not in ("amp_offset", "edge_glow", "vignetting", "bleed_trail"):
                other = other + layer
        other = significance_image(np.where(diff_masks["SATURATED"], 0.0, other), noise, diff_psf_sigma)
        truth_masks = {**masks, "SATURATED": saturated}
        truth = self._truth_table(
            visit, transients, t_err, found, residual, noise, truth_masks, diff_psf_sigma, wcs, np.abs(other)
        )
        metadata = {
            "SIM_SEEING": visit.seeing,
            "SIM_SKY_SIGMA": visit.sky_sigma,
            "SIM_KERNEL_S2": visit.kernel.s2,
            "SIM_KERNEL_FACTOR": visit.kernel_factor,
            "SIM_SHIFT_X": visit.shift[1],
            "SIM_SHIFT_Y": visit.shift[0],
            "SIM_FLUX_SCALE_ERROR": visit.flux_scale_error,
            "SIM_PSF_FWHM": psf_sigma * FWHM_PER_SIGMA,
            "SIM_TEMPLATE_PSF_FWHM": self.template_psf.effective_fwhm,
            "SIM_TEMPLATE_DEPTH": self.template_depth,
            "SIM_SATURATION": visit.saturation_level,
            "SIM_SATURATION_MASKED": int(visit.saturation_masked),
            "SIM_RESAMPLE": visit.resample_kernel,
            **visit.psf_family.as_metadata(),
        }
        if self.config.qualityRates:
            metadata.update(visit.quality.as_metadata())
        if self.blur_s2 > 0:
            metadata["SIM_SUBTRACTION"] = "convolveScience" if convolve_science else "convolveTemplate"
        return DetectorVisit(
            visit=visit,
            detector=self.detector,
            science=science.astype(np.float32),
            science_variance=sci_var.astype(np.float32),
            science_masks=sci_masks,
            template=template.astype(np.float32),
            template_variance=template_var.astype(np.float32),
            template_masks=t_masks,
            difference=difference.astype(np.float32),
            difference_variance=diff_var.astype(np.float32),
            difference_masks=diff_masks,
            science_psf_sigma=psf_sigma,
            template_psf_sigma=self.template_psf.effective_sigma,
            dia_sources=dia,
            truth=truth,
            metadata=metadata,
            difference_psf_sigma=diff_psf_sigma if convolve_science else None,
        )

    def _power_ratio(self, s2: float, transfer: np.ndarray) -> float:
        """Factor by which a family kernel lowers the white-noise power of a Gaussian kernel of ``s2``."""
        gauss = self.convolver.gaussian_transfer(s2)
        return self.convolver.plane_sum((gauss * transfer) ** 2) / self.convolver.plane_sum(gauss**2)

    # ---------------------------------------------------------------- tables

    def _dia_table(self, visit, sources, flux, flux_err, masks, wcs) -> astropy.table.Table:
        n = len(sources["x"])
        base = (visit.visit * 1000 + self.detector) * 100_000
        ra, dec = wcs.all_pix2world(sources["x"], sources["y"], 0) if n else (np.zeros(0), np.zeros(0))
        xi = np.clip(np.floor(sources["x"] + 0.5).astype(int), 0, self.size - 1)
        yi = np.clip(np.floor(sources["y"] + 0.5).astype(int), 0, self.size - 1)

        def near(plane: str) -> np.ndarray:
            stamps, _ = extract_stamps(masks[plane], xi, yi, 2, fill=False)
            return stamps.any(axis=(1, 2)) if n else np.zeros(0, bool)

        edge = (
            (sources["x"] < 3)
            | (sources["y"] < 3)
            | (sources["x"] > self.size - 4)
            | (sources["y"] > self.size - 4)
        )
        table = astropy.table.Table(
            {
                "diaSourceId": base + np.arange(n, dtype=np.int64),
                "visit": np.full(n, visit.visit, dtype=np.int64),
                "detector": np.full(n, self.detector, dtype=np.int16),
                "band": np.full(n, visit.band, dtype="U4"),
                "x": sources["x"] * u.pix,
                "y": sources["y"] * u.pix,
                "ra": np.asarray(ra) * u.deg,
                "dec": np.asarray(dec) * u.deg,
                "psfFlux": flux.astype(np.float32) * u.nJy,
                "psfFluxErr": flux_err.astype(np.float32) * u.nJy,
                "snr": np.abs(sources["peak_snr"]).astype(np.float32),
                "isNegative": sources["peak_snr"] < 0,
                "isDipole": sources["is_dipole"],
                "pixelFlags_edge": edge,
                "pixelFlags_bad": near("BAD"),
                "pixelFlags_saturated": near("SATURATED"),
                "pixelFlags_cr": near("COSMIC_RAY"),
            }
        )
        table.meta["VISIT"] = visit.visit
        table.meta["DETECTOR"] = self.detector
        return table

    def _truth_table(
        self, visit, transients, t_err, found, residual, noise, masks, psf_sigma, wcs, other_snr
    ):
        config = self.config
        m, size = self.margin, self.size
        rows: dict[str, list] = {
            k: []
            for k in (
                "kind",
                "x",
                "y",
                "flux",
                "mag",
                "snrExpected",
                "hostId",
                "hostSeparation",
                "length",
                "angle",
                "masked",
            )
        }

        def extend(**cols):
            n = len(cols["x"])
            defaults = {
                "mag": np.nan,
                "snrExpected": np.nan,
                "hostId": -1,
                "hostSeparation": np.nan,
                "length": 0.0,
                "angle": 0.0,
                "masked": False,
            }
            for key in rows:
                value = cols.get(key, defaults.get(key))
                rows[key].extend(np.broadcast_to(np.asarray(value), (n,)).tolist())

        with np.errstate(invalid="ignore", divide="ignore"):
            t_snr = np.abs(transients["flux"]) / t_err
        extend(
            kind=transients["kind"],
            x=transients["x"],
            y=transients["y"],
            flux=transients["flux"],
            mag=transients["mag"],
            snrExpected=t_snr,
            hostId=transients["host_id"],
            hostSeparation=transients["host_sep"] * self.pixel_scale,
        )
        for art in found:
            extend(
                kind=art["kind"],
                x=art["x"],
                y=art["y"],
                flux=art["flux"],
                length=art["length"],
                angle=art["angle"],
                masked=art["masked"],
            )

        # Saturated stars, and bright static sources that leave subtraction residuals.
        sx = np.concatenate([self.stars["x"], self.galaxies["x"]]) - m + visit.shift[1]
        sy = np.concatenate([self.stars["y"], self.galaxies["y"]]) - m + visit.shift[0]
        sflux = np.concatenate([self.stars["flux"], self.galaxies["flux"]])
        is_star = np.arange(len(sx)) < len(self.stars["x"])
        inside = (sx > -0.5) & (sx < size - 0.5) & (sy > -0.5) & (sy < size - 0.5)
        idx = np.flatnonzero(inside)
        xi = np.floor(sx[idx] + 0.5).astype(int)
        yi = np.floor(sy[idx] + 0.5).astype(int)
        sat, _ = extract_stamps(masks["SATURATED"], xi, yi, 2, fill=False)
        saturated = sat.any(axis=(1, 2)) & is_star[idx]
        rsnr = significance_image(residual, noise, psf_sigma)
        peak, _ = extract_stamps(np.abs(rsnr), xi, yi, 2)
        peak = peak.max(axis=(1, 2)) if len(idx) else np.zeros(0)
        significant = (peak >= config.detectionThreshold) & ~saturated
        half = int(np.ceil(2 * psf_sigma))
        rstamps, _ = extract_stamps(residual, xi[significant], yi[significant], half)
        odd = np.sum((rstamps - rstamps[:, ::-1, ::-1]) ** 2, axis=(1, 2))
        even = np.sum((rstamps + rstamps[:, ::-1, ::-1]) ** 2, axis=(1, 2))
        kinds = np.where(odd > even, "dipole", "psf_mismatch")
        extend(
            kind=np.full(saturated.sum(), "saturated_star"),
            x=sx[idx][saturated],
            y=sy[idx][saturated],
            flux=sflux[idx][saturated],
            masked=True,
        )
        extend(
            kind=kinds,
            x=sx[idx][significant],
            y=sy[idx][significant],
            flux=sflux[idx][significant],
            snrExpected=peak[significant],
        )

        n = len(rows["x"])
        x = np.array(rows["x"], dtype=float)
        y = np.array(rows["y"], dtype=float)
        ra, dec = wcs.all_pix2world(x, y, 0) if n else (np.zeros(0), np.zeros(0))
        kind = np.array(rows["kind"], dtype="U16")
        table = astropy.table.Table(
            {
                "truthId": (visit.visit * 1000 + self.detector) * 100_000 + np.arange(n, dtype=np.int64),
                "visit": np.full(n, visit.visit, dtype=np.int64),
                "detector": np.full(n, self.detector, dtype=np.int16),
                "kind": kind,
                "isReal": np.isin(kind, REAL_KINDS),
                "x": x * u.pix,
                "y": y * u.pix,
                "ra": np.asarray(ra) * u.deg,
                "dec": np.asarray(dec) * u.deg,
                "flux": np.array(rows["flux"], dtype=float) * u.nJy,
                "mag": np.array(rows["mag"], dtype=float) * u.mag,
                "snrExpected": np.array(rows["snrExpected"], dtype=float),
                "hostId": np.array(rows["hostId"], dtype=np.int64),
                "hostSeparation": np.array(rows["hostSeparation"], dtype=float) * u.arcsec,
                "length": np.array(rows["length"], dtype=float) * u.pix,
                "angle": np.array(rows["angle"], dtype=float) * u.deg,
                "masked": np.array(rows["masked"], dtype=bool),
            }
        )
        table["blended"] = _blended(table, 3.0 * psf_sigma * FWHM_PER_SIGMA, masks, other_snr)
        table.meta["VISIT"] = visit.visit
        table.meta["DETECTOR"] = self.detector
        return table


def _identity(layer: np.ndarray) -> np.ndarray:
    return layer


def _inverse(image_fft: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Inverse real FFT of a canvas."""
    return scipy.fft.irfft2(image_fft, s=shape, workers=-1)


def _blended(
    truth: astropy.table.Table, radius: float, masks: dict[str, np.ndarray], other_snr: np.ndarray
) -> np.ndarray:
    """Whether each truth entry is blended with something else.

    An entry is blended when another point-like injected object lies within
    ``radius`` pixels, or when, within ``radius / 2`` pixels, the S/N of all
    non-transient injected signal (artifacts, saturation and subtraction
    residuals: ``other_snr``) exceeds 3 or a pixel is BAD or SATURATED.
    """
    x = np.asarray(truth["x"], dtype=float)
    y = np.asarray(truth["y"], dtype=float)
    n = len(x)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    point = ~np.isin(truth["kind"], ("streak", "bad_column"))
    d2 = (x[:, None] - x[None, point]) ** 2 + (y[:, None] - y[None, point]) ** 2
    d2[np.arange(n)[point], np.arange(point.sum())] = np.inf
    out |= np.any(d2 < radius**2, axis=1)
    size = masks["BAD"].shape[0]
    xi = np.clip(np.floor(x + 0.5).astype(int), 0, size - 1)
    yi = np.clip(np.floor(y + 0.5).astype(int), 0, size - 1)
    half = int(radius / 2)
    stamps, _ = extract_stamps(other_snr, xi, yi, half)
    out |= stamps.max(axis=(1, 2)) > 3.0
    stamps, _ = extract_stamps(masks["BAD"] | masks["SATURATED"], xi, yi, half, fill=False)
    out |= stamps.any(axis=(1, 2))
    return out
