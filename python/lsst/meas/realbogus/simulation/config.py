"""Configuration of the simulated DC2-like repository, with presets."""

from __future__ import annotations

__all__ = ("PRESETS", "SimulationConfig")

import math
import os

import lsst.pex.config as pexConfig

from .psf_families import PSF_FAMILIES
from .quality import QUALITY_CLASSES
from .resampling import RESAMPLE_KERNELS


class SimulationConfig(pexConfig.Config):
    """Everything that defines a simulated repository (besides the random seed)."""

    instrument = pexConfig.Field[str](doc="Name of the simulated instrument.", default="RBSimCam")
    skymap = pexConfig.Field[str](doc="Name of the simulated skymap.", default="DC2_sim")
    tracts = pexConfig.ListField[int](
        doc="Tracts to simulate (as in the DC2 studies: 3080 for training, 4024 for testing). Visit ids, "
        "and with them each visit's drawn conditions, follow a tract's position in this list, so the first "
        "tract is the same alone or not, and a later one built alone is another draw.",
        default=[3080, 4024],
    )
    fieldsPerTract = pexConfig.Field[int](
        doc="Number of telescope pointings (fields) per tract; each has its own static sky and template.",
        default=1,
        check=lambda n: n >= 1,
    )
    visitsPerField = pexConfig.Field[int](
        doc="Number of visits (epochs) per field and band.", default=3, check=lambda n: n >= 1
    )
    bands = pexConfig.ListField[str](
        doc="Bands observed; each field is visited visitsPerField times in every band.", default=["r"]
    )
    nDetectors = pexConfig.Field[int](
        doc="Detectors in the camera (laid out on a square grid).", default=4, check=lambda n: 1 <= n <= 189
    )
    detectorSize = pexConfig.Field[int](
        doc="Detector width and height, in pixels (4096 for full-size LSSTCam-like detectors).",
        default=1024,
        check=lambda n: 128 <= n <= 8192,
    )
    detectorGap = pexConfig.Field[int](doc="Gap between detectors, in pixels.", default=50)
    pixelScale = pexConfig.Field[float](doc="Pixel scale, arcsec per pixel.", default=0.2)
    fieldPixelScales = pexConfig.ListField[float](
        doc="Pixel scale (arcsec per pixel) of each field of a tract, field k taking entry k modulo the "
        "list's length; empty: pixelScale for every field. A field's pixels are those of a camera of that "
        "scale whose pixels sample its site's seeing as this camera's do: the PSF and template keep their "
        "widths in pixels (seeingRange / pixelScale), while the sky is seen at the field's scale (star "
        "and galaxy densities per pixel, galaxy sizes and host separations in pixels) with the same sky "
        "per square arcsecond (noise per pixel skySigma times scale / pixelScale). The camera, WCS and "
        "skymap keep pixelScale, so the sky coordinates of such a field are those of pixelScale: it "
        "emulates the pixels, not the footprint.",
        default=[],
    )
    fieldSeeingFactors = pexConfig.ListField[float](
        doc="Factor on the science seeing (seeingRange) and the template PSF FWHM of each field of a tract, "
        "field k taking entry k modulo the list's length; empty: 1 for every field. A factor under 1 gives "
        "a field sharper PSFs in pixels at the same pixel scale (undersampled ones below about 2.5 pixels "
        "FWHM), its template sharper by the same factor; every other draw, and every other field, is as "
        "without it.",
        default=[],
    )
    canvasMargin = pexConfig.Field[int](
        doc="Padding around each detector on which the sky is drawn (light from just outside the "
        "detector, and room for convolutions), in pixels.",
        default=32,
    )
    templatePsfFwhm = pexConfig.Field[float](
        doc="FWHM of the PSF the static sky and template are drawn with, arcsec; science seeing is always "
        "broader (templateBlurRange can make the template itself broader).",
        default=0.65,
    )
    seeingRange = pexConfig.ListField[float](
        doc="Range of the science PSF FWHM at the field centre, arcsec.", default=[0.8, 1.3], length=2
    )
    seeingDistribution = pexConfig.ChoiceField[str](
        doc="Distribution of the science seeing within seeingRange, drawn per visit.",
        default="uniform",
        allowed={
            "uniform": "uniform in arcsec",
            "logUniform": "uniform in log(FWHM): as many visits in each factor of the range, so sharp PSFs "
            "(the undersampled end) are as frequent as broad ones",
        },
    )
    stratifySeeing = pexConfig.Field[bool](
        doc="Spread each field's visits over equal-probability strata of seeingDistribution (one visit in "
        "each 1/N of it, N the field's visits, in a random order) instead of drawing them independently: "
        "a tract of few visits then covers the whole seeing range, not a random part of it.",
        default=False,
    )
    psfGradient = pexConfig.Field[float](
        doc="Scatter of the linear gradients of the PSF-matching kernel variance across the field "
        "(fractional change from centre to field edge).",
        default=0.15,
    )
    psfRadialTerm = pexConfig.Field[float](
        doc="Maximum radial term of the PSF-matching kernel variance (fractional, at the field edge).",
        default=0.3,
    )
    skySigma = pexConfig.Field[float](
        doc="Typical per-pixel sky noise of a science exposure, nJy (about 24.5 mag 5-sigma depth).",
        default=20.0,
    )
    skySigmaRange = pexConfig.ListField[float](
        doc="Range of the per-visit factor on skySigma (observing conditions).", default=[0.8, 1.3], length=2
    )
    gain = pexConfig.Field[float](
        doc="Flux per photo-electron, nJy; sets the Poisson noise of sources.", default=0.6
    )
    templateDepth = pexConfig.Field[float](
        doc="Number of science-depth exposures coadded into the template (its noise is lower by the "
        "square root of this).",
        default=20.0,
    )
    saturationLevel = pexConfig.Field[float](
        doc="Pixel value at which science exposures saturate and bleed, nJy.", default=80000.0
    )
    starDensity = pexConfig.Field[float](doc="Stars per square degree over starMags.", default=25000.0)
    starMags = pexConfig.ListField[float](doc="Star magnitude range.", default=[14.0, 25.0], length=2)
    nBrightStars = pexConfig.Field[int](
        doc="Bright stars (brightStarMags) placed on each detector besides the random star field; they "
        "saturate and bleed in science exposures.",
        default=2,
    )
    brightStarMags = pexConfig.ListField[float](
        doc="Magnitude range of the bright stars.", default=[12.5, 15.5], length=2
    )
    galaxyDensity = pexConfig.Field[float](doc="Galaxies per square degree over galaxyMags.", default=60000.0)
    galaxyMags = pexConfig.ListField[float](doc="Galaxy magnitude range.", default=[17.0, 25.5], length=2)
    nHostTransients = pexConfig.Field[int](
        doc="Transients on a host galaxy (within about a half-light radius) per detector and visit.",
        default=8,
    )
    nOffsetTransients = pexConfig.Field[int](
        doc="Transients offset from their host (1.5-4 half-light radii) per detector and visit.", default=4
    )
    nHostlessTransients = pexConfig.Field[int](doc="Hostless transients per detector and visit.", default=4)
    nVariableStars = pexConfig.Field[int](
        doc="Variable stars per detector (they vary in every visit).", default=4
    )
    transientMags = pexConfig.ListField[float](
        doc="Range of transient magnitudes in the science exposure.", default=[19.0, 24.5], length=2
    )
    variableMags = pexConfig.ListField[float](
        doc="Range of variable-star mean magnitudes.", default=[17.0, 21.5], length=2
    )
    variableAmplitude = pexConfig.ListField[float](
        doc="Range of the absolute magnitude change of a variable star between template and visit.",
        default=[0.1, 1.0],
        length=2,
    )
    nCosmicRays = pexConfig.Field[int](
        doc="Cosmic rays per detector and visit (scaled by detector area relative to 1024x1024).",
        default=12,
    )
    cosmicRayMaskedFraction = pexConfig.Field[float](
        doc="Fraction of cosmic rays flagged in the COSMIC_RAY mask plane (the rest escape detection).",
        default=0.5,
    )
    nHotPixels = pexConfig.Field[int](
        doc="Hot pixels per detector (same pixels in every visit; scaled by area as nCosmicRays).",
        default=8,
    )
    hotPixelMaskedFraction = pexConfig.Field[float](
        doc="Fraction of hot pixels known and flagged BAD.", default=0.5
    )
    nBadColumns = pexConfig.Field[int](doc="Bad column segments per detector.", default=2)
    badColumnMaskedFraction = pexConfig.Field[float](
        doc="Fraction of bad columns known and flagged BAD.", default=0.5
    )
    streakProbability = pexConfig.Field[float](
        doc="Probability that a satellite streak crosses a detector in a visit.", default=0.15
    )
    astrometricError = pexConfig.Field[float](
        doc="Typical misregistration between science and template, pixels (per axis).", default=0.02
    )
    badAstrometryProbability = pexConfig.Field[float](
        doc="Probability that a visit is badly registered (dipoles on bright sources).", default=0.3
    )
    badAstrometricError = pexConfig.Field[float](
        doc="Misregistration of a badly registered visit, pixels (per axis).", default=0.15
    )
    kernelError = pexConfig.Field[float](
        doc="Typical fractional error of the PSF-matching kernel variance.", default=0.02
    )
    badKernelProbability = pexConfig.Field[float](
        doc="Probability that a visit's PSF-matching kernel is badly estimated (PSF-mismatch residuals).",
        default=0.3,
    )
    badKernelError = pexConfig.Field[float](
        doc="Fractional error of the kernel variance of a badly matched visit.", default=0.12
    )
    photometricError = pexConfig.Field[float](
        doc="Fractional error of the template flux scaling.", default=0.003
    )
    badPhotometryProbability = pexConfig.RangeField[float](
        doc="Probability that a visit's template flux scaling is badly fitted (residuals of the template's "
        "shape on every bright source). 0 draws nothing, so repositories made before it reproduce.",
        default=0.0,
        min=0.0,
        max=1.0,
        inclusiveMax=True,
    )
    badPhotometricError = pexConfig.RangeField[float](
        doc="Fractional error of the template flux scaling of a badly scaled visit.", default=0.025, min=0.0
    )
    detectionThreshold = pexConfig.Field[float](
        doc="Difference-image detection threshold, sigma.", default=5.0
    )
    transientEdgeBuffer = pexConfig.Field[int](
        doc="Minimum distance of injected transients from the detector edge, pixels.", default=5
    )

    # ---- Variety (per-visit PSF families, seeing in pixels, noise, saturation, more artifacts).
    # Every default reproduces the simulator without variety; the ``variety`` preset turns them on.
    psfFamilies = pexConfig.ListField[str](
        doc="PSF families a visit's PSF is drawn from: 'gaussian' (the template double Gaussian "
        "broadened by a Gaussian kernel), 'doubleGaussian' (a broad wing), 'moffat', 'elongated' (bad "
        "tracking) or 'defocused' (a donut). A non-Gaussian family convolves the visit's science scene "
        "with a spatially constant kernel of that shape.",
        default=["gaussian"],
    )
    psfFamilyWeights = pexConfig.ListField[float](
        doc="Relative probability of each entry of psfFamilies.", default=[1.0]
    )
    psfShapeFraction = pexConfig.Field[float](
        doc="For non-Gaussian families, fraction of the science-over-template PSF variance carried by "
        "the family kernel (its FWHM squared, in quadrature); the Gaussian kernel carries the rest and "
        "the spatial variation.",
        default=0.5,
        check=lambda f: 0.0 < f < 1.0,
    )
    moffatBetaRange = pexConfig.ListField[float](
        doc="Range of the Moffat index beta of 'moffat' visits (small: heavy wings).",
        default=[2.0, 5.0],
        length=2,
    )
    psfWingFractionRange = pexConfig.ListField[float](
        doc="Range of the wing flux fraction of 'doubleGaussian' visits.", default=[0.05, 0.25], length=2
    )
    psfWingRatio = pexConfig.Field[float](doc="Wing over core sigma of 'doubleGaussian' visits.", default=3.0)
    elongationAxisRatioRange = pexConfig.ListField[float](
        doc="Range of the minor-to-major axis ratio of 'elongated' visits (the angle is uniform).",
        default=[0.5, 0.9],
        length=2,
    )
    defocusObscurationRange = pexConfig.ListField[float](
        doc="Range of the inner-to-outer radius ratio of the annulus of 'defocused' visits.",
        default=[0.3, 0.6],
        length=2,
    )
    psfFamilyMisfit = pexConfig.Field[float](
        doc="Typical fractional error of the subtraction's estimate of a non-Gaussian family kernel "
        "(its width, shape parameters and axis ratio; the angle is off by 45 times this, degrees).",
        default=0.05,
    )
    templatePsfFwhmRange = pexConfig.ListField[float](
        doc="Range of the template PSF FWHM (arcsec), drawn per field; empty: templatePsfFwhm. With "
        "seeingRange it sets the seeing in pixels, which emulates other pixel scales (the camera, WCS "
        "and skymap keep pixelScale).",
        default=[],
    )
    templateBlurRange = pexConfig.ListField[float](
        doc="Range of the FWHM (arcsec) of a Gaussian that blurs each field's template beyond the PSF its "
        "static sky is drawn with (templatePsfFwhm or templatePsfFwhmRange), drawn per field; empty: none. "
        "A blurred template is broader than the field's sharper visits, as real templates often are; those "
        "visits are subtracted the other way round, the science image convolved to the template's PSF "
        "(Alard & Lupton's convolve-science mode) and the difference decorrelated, which spreads the "
        "science's cosmic rays, hot pixels and masks in the difference image.",
        default=[],
    )
    templateBlurFields = pexConfig.ListField[int](
        doc="Fields (indices within each tract) whose template templateBlurRange blurs; empty: every field.",
        default=[],
    )
    templateDepthRange = pexConfig.ListField[float](
        doc="Range of templateDepth drawn per field and detector; empty: templateDepth. Shallow templates "
        "put more (correlated, kernel-convolved) template noise in the difference image.",
        default=[],
    )
    saturationLevelRange = pexConfig.ListField[float](
        doc="Range of the saturation level (nJy) drawn per visit; empty: saturationLevel.", default=[]
    )
    saturationLevelLogUniform = pexConfig.Field[bool](
        doc="Draw the saturation level uniformly in its logarithm within saturationLevelRange (half the "
        "visits under 71,000 nJy at variety's 25,000-200,000, not a quarter), so more, and fainter, "
        "stars saturate. The other random draws are unchanged: only saturated pixels and their truth differ.",
        default=False,
    )
    unmaskedSaturationFraction = pexConfig.Field[float](
        doc="Fraction of visits whose saturated pixels and bleed trails are not flagged SATURATED (so "
        "they are detected; truth kind 'bleed_trail').",
        default=0.0,
        check=lambda f: 0.0 <= f <= 1.0,
    )
    resampleKernels = pexConfig.ListField[str](
        doc="Interpolation kernels, one drawn per visit, with which the science exposure is resampled at "
        "a random sub-pixel offset onto the template grid (as ZTF's and many DECam pipelines do), which "
        "correlates the difference image's noise: 'none', 'bilinear', 'lanczos3'. Empty: never.",
        default=[],
    )
    diffractionSpikeRate = pexConfig.Field[float](
        doc="Mean number of the brightest stars per detector with diffraction spikes (the same stars in "
        "every visit; the science spikes are rotated against the template's). Truth kind "
        "'diffract_spike'.",
        default=0.0,
    )
    spikeFluxFractionRange = pexConfig.ListField[float](
        doc="Range of the fraction of a star's flux in its four spikes.", default=[0.002, 0.01], length=2
    )
    spikeRotationRange = pexConfig.ListField[float](
        doc="Range of the absolute rotation of the science spikes against the template's, degrees "
        "(drawn per visit, random sign).",
        default=[2.0, 15.0],
        length=2,
    )
    ghostRate = pexConfig.Field[float](
        doc="Mean number of ghosts (large faint rings) per detector-visit. Truth kind 'ghost'.", default=0.0
    )
    glintRate = pexConfig.Field[float](
        doc="Mean number of glints (short bright linear features) per detector-visit. Truth kind 'glint'.",
        default=0.0,
    )
    glintLengthRange = pexConfig.ListField[float](
        doc="Range of the length of glints, pixels (before the PSF widens them).",
        default=[8.0, 60.0],
        length=2,
    )
    glintLengthPower = pexConfig.Field[float](
        doc="Glint lengths are drawn uniformly in length**glintLengthPower within glintLengthRange, and "
        "for 0 uniformly in their logarithm. At the default range a glint is under 12 pixels one time "
        "in thirteen for 1 (uniform lengths), one in eight for 0.5 and one in five for 0. One number is "
        "drawn per glint either way, so the other random draws are unchanged and only the glints differ.",
        default=1.0,
    )
    streakWidthRange = pexConfig.ListField[float](
        doc="Range of the Gaussian width of satellite streaks, in units of the PSF sigma.",
        default=[1.0, 2.0],
        length=2,
    )
    streakFluxRange = pexConfig.ListField[float](
        doc="Range of the peak surface brightness of satellite streaks, in units of the sky noise.",
        default=[2.0, 25.0],
        length=2,
    )
    nuclearResidualRate = pexConfig.Field[float](
        doc="Mean number of subtraction residuals at bright galaxy cores per detector-visit. Truth kind "
        "'nuclear_residual'.",
        default=0.0,
    )
    starResidualRate = pexConfig.Field[float](
        doc="Mean number of subtraction residuals on bright unsaturated stars per detector-visit. Truth "
        "kind 'star_residual'.",
        default=0.0,
    )
    residualShape = pexConfig.ChoiceField[str](
        doc="Shape of galaxy-core and star residuals: the PSF made wider or narrower, minus the PSF.",
        default="gaussian",
        allowed={
            "gaussian": "A Gaussian PSF of the visit's effective sigma, whatever its family.",
            "psf": "The visit's PSF image at the detector centre, family included (a defocused visit's "
            "residuals are rings).",
        },
    )
    residualSnrRange = pexConfig.ListField[float](
        doc="Range of the matched-filter S/N of galaxy-core and star residuals.",
        default=[5.0, 30.0],
        length=2,
    )
    ampOffsetRate = pexConfig.Field[float](
        doc="Mean number of amplifiers (8 per detector) with a background offset per detector-visit. "
        "Truth kind 'amp_offset'.",
        default=0.0,
    )
    edgeGlowRate = pexConfig.Field[float](
        doc="Mean number of glows along a detector edge per detector-visit. Truth kind 'edge_glow'.",
        default=0.0,
    )
    vignettingRate = pexConfig.Field[float](
        doc="Mean number of uncorrected vignetting falloffs along a detector edge per detector-visit "
        "(sources and sky dimmed). Truth kind 'vignetting'.",
        default=0.0,
    )
    attributionSnr = pexConfig.Field[float](
        doc="A detection is named after an extended optional artifact (ghost, spike, amplifier, edge, "
        "bleed) in the truth when that artifact's own noiseless S/N there is at least this.",
        default=2.0,
    )

    realGalaxyCatalog = pexConfig.Field[str](
        doc="Optional GalSim RealGalaxyCatalog FITS file of real HST galaxy stamps (e.g. the AEGIS "
        "catalog in the project's shared data, hosts/AEGIS_F814w_catalog.fits); when set, a fraction "
        "realGalaxyFraction of the galaxies brighter than 22 mag are drawn from it. Empty: parametric "
        "bulge+disk galaxies only.",
        default="",
    )
    realGalaxyFraction = pexConfig.Field[float](
        doc="Fraction of the galaxies brighter than 22 mag drawn as real HST galaxies.", default=0.5
    )

    # ---- Visit-level quality problems (seed 002's classes; see simulation/quality.py). No rates: none.
    qualityRates = pexConfig.DictField[str, float](
        doc="Probability that a visit has each quality problem: keys 'tracking', 'severe_tracking', "
        "'focus', 'seeing', 'background' (see lsst.meas.realbogus.simulation.quality); the rest of the "
        "visits are 'good'. Empty: every visit is good, and nothing else changes.",
        default={},
    )
    trackingTrailRange = pexConfig.ListField[float](
        doc="Trail FWHM of mild bad tracking, in units of the seeing FWHM.", default=[1.6, 2.4], length=2
    )
    severeTrackingTrailRange = pexConfig.ListField[float](
        doc="Trail FWHM of severe bad tracking, in units of the seeing FWHM.", default=[3.5, 6.0], length=2
    )
    badFocusDiameterRange = pexConfig.ListField[float](
        doc="Donut diameter of bad-focus visits, in units of the seeing FWHM.", default=[2.5, 4.0], length=2
    )
    badSeeingFactorRange = pexConfig.ListField[float](
        doc="Factor on the seeing of bad-seeing visits.", default=[1.8, 2.6], length=2
    )
    backgroundAmplitudeRange = pexConfig.ListField[float](
        doc="Amplitude of unsubtracted gradients and scattered light, in units of the sky sigma.",
        default=[3.0, 10.0],
        length=2,
    )
    highSkyFactorRange = pexConfig.ListField[float](
        doc="Factor on the sky noise of high-sky visits.", default=[3.0, 5.0], length=2
    )
    shortExposureRange = pexConfig.ListField[float](
        doc="Exposure fraction of short exposures (noise up as its inverse square root).",
        default=[0.04, 0.12],
        length=2,
    )

    def validate(self) -> None:
        super().validate()
        if len(set(self.tracts)) != len(self.tracts):
            raise pexConfig.FieldValidationError(SimulationConfig.tracts, self, "tracts must be unique")
        if not self.bands:
            raise pexConfig.FieldValidationError(SimulationConfig.bands, self, "at least one band is needed")
        ranges = (
            "seeingRange",
            "starMags",
            "galaxyMags",
            "transientMags",
            "skySigmaRange",
            "moffatBetaRange",
            "psfWingFractionRange",
            "elongationAxisRatioRange",
            "defocusObscurationRange",
            "templatePsfFwhmRange",
            "templateBlurRange",
            "templateDepthRange",
            "saturationLevelRange",
            "spikeFluxFractionRange",
            "spikeRotationRange",
            "streakWidthRange",
            "streakFluxRange",
            "glintLengthRange",
            "residualSnrRange",
            "trackingTrailRange",
            "severeTrackingTrailRange",
            "badFocusDiameterRange",
            "badSeeingFactorRange",
            "backgroundAmplitudeRange",
            "highSkyFactorRange",
            "shortExposureRange",
        )
        for name in ranges:
            values = getattr(self, name)
            if name.endswith("Range") and name != "seeingRange" and len(values) == 0:
                continue
            if len(values) != 2:
                raise pexConfig.FieldValidationError(
                    getattr(SimulationConfig, name), self, f"{name} must hold two values (or none)"
                )
            lo, hi = values
            if not lo < hi:
                raise pexConfig.FieldValidationError(
                    getattr(SimulationConfig, name), self, f"{name} must be increasing, got {lo}, {hi}"
                )
        if self.glintLengthRange[0] <= 0:
            raise pexConfig.FieldValidationError(
                SimulationConfig.glintLengthRange, self, "glint lengths must be positive"
            )
        if not math.isfinite(self.glintLengthPower):
            raise pexConfig.FieldValidationError(
                SimulationConfig.glintLengthPower, self, "the glint length power must be finite"
            )
        if self.saturationLevelLogUniform and min(self.saturationLevelRange, default=1.0) <= 0:
            raise pexConfig.FieldValidationError(
                SimulationConfig.saturationLevelRange, self, "a log-uniform saturation level must be positive"
            )
        if min(self.templateBlurRange, default=0.0) < 0:
            raise pexConfig.FieldValidationError(
                SimulationConfig.templateBlurRange, self, "a blur FWHM cannot be negative"
            )
        if self.templateBlurFields and not self.templateBlurRange:
            raise pexConfig.FieldValidationError(
                SimulationConfig.templateBlurFields, self, "templateBlurFields needs a templateBlurRange"
            )
        outside = sorted(f for f in self.templateBlurFields if not 0 <= f < self.fieldsPerTract)
        if outside:
            raise pexConfig.FieldValidationError(
                SimulationConfig.templateBlurFields,
                self,
                f"fields {outside} are not in 0..{self.fieldsPerTract - 1} (fieldsPerTract)",
            )
        problems = [c for c in QUALITY_CLASSES if c != "good"]
        unknown = sorted(set(self.qualityRates) - set(problems))
        if unknown:
            raise pexConfig.FieldValidationError(
                SimulationConfig.qualityRates, self, f"unknown quality classes {unknown}; use {problems}"
            )
        rates = list(self.qualityRates.values())
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise pexConfig.FieldValidationError(
                SimulationConfig.qualityRates,
                self,
                f"rates must be non-negative and sum to at most 1, got {rates}",
            )
        for family in self.psfFamilies:
            if family not in PSF_FAMILIES:
                raise pexConfig.FieldValidationError(
                    SimulationConfig.psfFamilies, self, f"unknown PSF family {family!r}; use {PSF_FAMILIES}"
                )
        if not self.psfFamilies or len(self.psfFamilyWeights) != len(self.psfFamilies):
            raise pexConfig.FieldValidationError(
                SimulationConfig.psfFamilyWeights, self, "one weight per PSF family is needed"
            )
        if min(self.psfFamilyWeights) < 0 or sum(self.psfFamilyWeights) <= 0:
            raise pexConfig.FieldValidationError(
                SimulationConfig.psfFamilyWeights, self, "weights must be non-negative, not all zero"
            )
        for kernel in self.resampleKernels:
            if kernel not in RESAMPLE_KERNELS:
                raise pexConfig.FieldValidationError(
                    SimulationConfig.resampleKernels,
                    self,
                    f"unknown kernel {kernel!r}; use {RESAMPLE_KERNELS}",
                )
        if min(self.fieldPixelScales, default=1.0) <= 0 or self.pixelScale <= 0:
            raise pexConfig.FieldValidationError(
                SimulationConfig.fieldPixelScales, self, "pixel scales must be positive"
            )
        if not all(math.isfinite(f) and f > 0 for f in self.fieldSeeingFactors):
            raise pexConfig.FieldValidationError(
                SimulationConfig.fieldSeeingFactors, self, "seeing factors must be positive and finite"
            )
        template_fwhm = max(self.templatePsfFwhmRange) if self.templatePsfFwhmRange else self.templatePsfFwhm
        if self.seeingRange[0] <= template_fwhm:
            raise pexConfig.FieldValidationError(
                SimulationConfig.seeingRange, self, "science seeing must be broader than the template PSF"
            )
        if self.realGalaxyCatalog and not os.path.isfile(self.realGalaxyCatalog):
            raise pexConfig.FieldValidationError(
                SimulationConfig.realGalaxyCatalog, self, f"no such file: {self.realGalaxyCatalog}"
            )
        if self.canvasMargin < 16:
            raise pexConfig.FieldValidationError(SimulationConfig.canvasMargin, self, "must be >= 16")


def _tiny(config: SimulationConfig) -> None:
    config.detectorSize = 256
    config.nDetectors = 2
    config.visitsPerField = 2
    config.nHostTransients = 3
    config.nOffsetTransients = 2
    config.nHostlessTransients = 2
    config.nVariableStars = 2
    # Enough artifacts that every kind appears on the small detectors.
    config.nCosmicRays = 96
    config.nHotPixels = 96
    config.streakProbability = 0.5


def _demo(config: SimulationConfig) -> None:
    config.detectorSize = 1024
    config.nDetectors = 4
    config.visitsPerField = 3


def _training(config: SimulationConfig) -> None:
    config.detectorSize = 2048
    config.nDetectors = 9
    config.visitsPerField = 5
    config.nHostTransients = 50
    config.nOffsetTransients = 30
    config.nHostlessTransients = 30
    config.nVariableStars = 16
    config.nBrightStars = 4
    # A streak on every detector-visit: at the default rate a training tract holds only a
    # handful, too few for a classifier to learn them (training sets enrich rare artifacts).
    config.streakProbability = 1.0


def _variety(config: SimulationConfig) -> None:
    """Twice the ``training`` size, with conditions, PSFs, processing errors and artifacts drawn per visit."""
    _training(config)
    # Two fields per tract: the classifier's in-domain MDR still fell with training-set size at one.
    config.fieldsPerTract = 2
    # PSF families; 'defocused' is left out, for the 'shifted' test preset.
    config.psfFamilies = ["gaussian", "doubleGaussian", "moffat", "elongated"]
    config.psfFamilyWeights = [1.0, 1.0, 1.0, 1.0]
    # Seeing of about 2 to 8 pixels FWHM at 0.2 arcsec/pixel: ZTF-like sampling (1 arcsec/pixel in
    # ordinary seeing) up to LSST in bad seeing; templates of 1.4 to 1.9 pixels FWHM.
    config.templatePsfFwhmRange = [0.28, 0.38]
    config.seeingRange = [0.42, 1.6]
    config.skySigmaRange = [0.5, 2.5]
    config.templateDepthRange = [2.0, 30.0]
    config.saturationLevelRange = [25000.0, 200000.0]
    config.unmaskedSaturationFraction = 0.2
    config.resampleKernels = ["none", "none", "bilinear", "lanczos3"]
    # Subtraction quality.
    config.kernelError = 0.04
    config.badKernelError = 0.25
    config.photometricError = 0.01
    config.astrometricError = 0.04
    config.badAstrometricError = 0.3
    config.psfFamilyMisfit = 0.08
    # More artifact kinds, and streaks of varied width and brightness.
    config.streakProbability = 0.7
    config.streakWidthRange = [0.6, 4.0]
    config.streakFluxRange = [1.0, 60.0]
    config.diffractionSpikeRate = 3.0
    config.ghostRate = 0.5
    config.glintRate = 1.0
    config.nuclearResidualRate = 4.0
    config.starResidualRate = 4.0
    config.ampOffsetRate = 0.3
    config.edgeGlowRate = 0.3
    config.vignettingRate = 0.3


def _wide(config: SimulationConfig) -> None:
    """``variety`` with its seeing widened down to undersampled PSFs (1.4-8 pixels), templates of 0.9-1.3.

    ``variety``'s narrowest PSF is about 3 pixels (second-moment FWHM), which LSST reaches in
    0.6 arcsec seeing and ZTF's 1 arcsec pixels never do; this preset draws the seeing of the
    ``narrow`` test too, and its templates (which must be narrower than any visit of the field)
    from ``narrow``'s range.
    """
    _variety(config)
    config.templatePsfFwhmRange = [0.18, 0.26]
    config.seeingRange = [0.28, 1.6]


def _wide_log(config: SimulationConfig) -> None:
    """``wide`` with its seeing drawn log-uniformly and stratified per field (each fifth of the range).

    Uniform draws over ``wide``'s range give a tract of ten visits only a few undersampled ones
    (three below 3 pixels in seed 1); log-uniform strata give each field one visit in every fifth
    of log(FWHM), so each tract has two in the ``narrow`` test's range (1.4-2 pixels) and two
    just above it.
    """
    _wide(config)
    config.seeingDistribution = "logUniform"
    config.stratifySeeing = True


def _multiscale(config: SimulationConfig) -> None:
    """``variety`` with a third field per tract seen through 0.5 arcsec pixels (``fieldPixelScales``).

    Its PSFs keep variety's widths in pixels, while its sky is 2.5 times smaller in pixels: 6.25 times
    the stars and galaxies per pixel, galaxies closer to point sources, and 2.5 times the sky noise
    per pixel, as on a camera of coarser pixels made for a site of worse seeing. The ``coarse`` test's
    1 arcsec pixels stay outside it.
    """
    _variety(config)
    config.fieldsPerTract = 3
    config.fieldPixelScales = [0.2, 0.2, 0.5]


def _bothways(config: SimulationConfig) -> None:
    """``variety`` with its second field's templates blurred: most of its visits convolve the science.

    The first field of each tract is ``variety``'s, pixel for pixel; the second has the same sky and
    visits under a template blurred by 0.6-0.9 arcsec (``templateBlurRange``), so its visits sharper
    than the template are subtracted by convolving the science image and decorrelating the difference
    (four of the five of tract 3080 at seed 1), the way ``variety`` never subtracts.
    """
    _variety(config)
    config.templateBlurRange = [0.6, 0.9]
    config.templateBlurFields = [1]


def _blurfield(config: SimulationConfig) -> None:
    """``variety`` plus a third field per tract under a blurred template: visits of both subtractions.

    Unlike `_bothways`, which blurs the template of variety's second field and so replaces half of
    its template-convolved visits, this keeps both of variety's fields pixel for pixel and adds one
    whose template is blurred by 0.6-0.9 arcsec (``templateBlurRange``); its visits sharper than the
    template are subtracted by convolving the science image and decorrelating the difference (four
    of the five of tract 3080 at seed 1).
    """
    _variety(config)
    config.fieldsPerTract = 3
    config.templateBlurRange = [0.6, 0.9]
    config.templateBlurFields = [2]


def _blurfield3x(config: SimulationConfig) -> None:
    """``blurfield`` with three times the nuclear residuals and glints per detector-visit (``rbsim12``).

    The two bogus kinds that every candidate since ``rbsim06`` still scored above 0.99 on some test,
    drawn three times as often (``nuclearResidualRate`` 12, ``glintRate`` 3) for the network to learn
    them from.  Changing the two rates moves every later random draw, so its sky is not
    ``blurfield``'s pixel for pixel.
    """
    _blurfield(config)
    config.nuclearResidualRate = 3 * config.nuclearResidualRate
    config.glintRate = 3 * config.glintRate


def _blurfield6(config: SimulationConfig) -> None:
    """``blurfield3x`` over twice the fields per tract: six, the third and the sixth under blurred templates.

    The training-set size is the lever: doubling ``variety``'s fields lowered the in-domain MDR at 1%
    FPR from 3.6% to 2.9% (``rbsim05`` to ``rbsim06``), and ``rbsim12`` on ``blurfield3x``'s three
    missed that target by 0.13 points.  The same share of the fields (one in three) convolves the
    science.
    """
    _blurfield3x(config)
    config.fieldsPerTract = 6
    config.templateBlurFields = [2, 5]


def _blurfield6short(config: SimulationConfig) -> None:
    """``blurfield6`` with glint lengths drawn log-uniformly: three times as many glints under 12 pixels.

    Every glint ``rbsim13`` or ``rbsim09`` scored above 0.99 on ``sharp`` is 8-13 pixels long, the
    shortest of the uniform 8-60 draw, which makes one glint in thirteen of the training tract.
    Only the glints' lengths change: every other draw, and so the rest of the sky, is
    ``blurfield6``'s.
    """
    _blurfield6(config)
    config.glintLengthPower = 0.0


def _blurfield6shortsat(config: SimulationConfig) -> None:
    """``blurfield6short`` with saturation levels drawn log-uniformly: more, and fainter, saturated stars.

    ``rbsim15``'s confident in-domain saturated stars are the faint ones (S/N under 45) of a visit of
    sharp seeing and a low saturation level, a pair that two of the training tract's 30 visits have;
    the training tract holds 266 saturated-star detections among its 144,755 triplets. Log-uniform
    levels over the same 25,000-200,000 nJy put half the visits under 71,000 nJy rather than a
    quarter. Only the saturated pixels change: every other draw, and so the rest of the sky, is
    ``blurfield6short``'s.
    """
    _blurfield6short(config)
    config.saturationLevelLogUniform = True


def _blurfield6sqrt(config: SimulationConfig) -> None:
    """``blurfield6`` with square-root-uniform glint lengths: between it and ``blurfield6short``.

    ``blurfield6short``'s log-uniform lengths (one glint in five under 12 pixels) removed every
    confident glint of ``sharp`` but cost ``rbsim15`` 0.0013 of ``coarse``'s AUC against ``rbsim13``
    (``blurfield6``, one in thirteen). Square-root-uniform lengths make one glint in eight short.
    Only the glints' lengths change: every other draw, and so the rest of the sky, is ``blurfield6``'s.
    """
    _blurfield6(config)
    config.glintLengthPower = 0.5


def _blurfield7narrow(config: SimulationConfig) -> None:
    """``blurfield6`` plus a seventh field per tract of sharper PSFs: a minority of undersampled visits.

    ``coarse``'s PSFs (1.6-2.6 pixels) are narrower than ``blurfield6``'s narrowest (2.1 pixels before
    bad seeing), so they are interpolated up to the model's training width. Training on seeing drawn
    down to them (``wide_log``: four visits of ten under 2.6 pixels) taught a network that a compact
    saturated core is real; here one field in seven has its seeing and template scaled by 0.65
    (``fieldSeeingFactors``: seeing 1.37-5.2 pixels, templates 0.91-1.24, ``coarse``'s and ``narrow``'s
    own), the six others being ``blurfield6``'s pixel for pixel. On tract 3080 one of its visits
    (1.43 pixels, misregistered by 0.28) makes 103,347 of the 271,389 diaSources, so its training set
    is cut with ``BuildTrainingSetConfig.maxBogusPerDetector``; the candidate trained on it,
    ``rbsim18``, lost the ``coarse`` test (training.rst, "A minority of undersampled visits").
    """
    _blurfield6(config)
    config.fieldsPerTract = 7
    config.fieldSeeingFactors = [1.0] * 6 + [0.65]


def _shifted(config: SimulationConfig) -> None:
    """A test repository outside the ``variety`` training ranges: donut PSFs and 9-12 pixel seeing."""
    _variety(config)
    config.tracts = [4024]
    config.fieldsPerTract = 1
    config.psfFamilies = ["defocused"]
    config.psfFamilyWeights = [1.0]
    config.templatePsfFwhmRange = [0.9, 1.1]
    config.seeingRange = [1.8, 2.4]
    config.canvasMargin = 48


def _narrow(config: SimulationConfig) -> None:
    """A test repository below the ``variety`` training ranges: undersampled PSFs of 1.4-2 pixel seeing.

    The other shift of `_shifted`: the PSF families are variety's own, only narrower than any
    it draws (variety's seeing starts at 2.1 pixels, its templates at 1.4), as in good seeing on
    a camera of coarse pixels (ZTF's 1 arcsec pixels in 1.4-2 arcsec seeing).
    """
    _variety(config)
    config.tracts = [4024]
    config.fieldsPerTract = 1
    config.templatePsfFwhmRange = [0.18, 0.24]
    config.seeingRange = [0.28, 0.40]


def _sharp(config: SimulationConfig) -> None:
    """A test repository whose templates are broader than most of its visits (``templateBlurRange``).

    ``variety``'s templates are sharper than every visit, so its difference images all come from
    convolving the template.  Here each field's template is blurred by a Gaussian of 0.7-0.9 arcsec
    FWHM (to about 4.4 pixels effective FWHM), and the visits sharper than it (in 0.42-1.2 arcsec
    seeing, most of them) are subtracted the other way round, the science image convolved to the
    template's PSF and the difference decorrelated, as Rubin's pipeline does for them and as ZOGY's
    difference images are.
    """
    _variety(config)
    config.tracts = [4024]
    config.fieldsPerTract = 1
    config.templateBlurRange = [0.7, 0.9]
    config.seeingRange = [0.42, 1.2]


def _coarse(config: SimulationConfig) -> None:
    """A test repository of a camera with 1 arcsec pixels in 1.6-2.6 arcsec seeing (ZTF's sampling).

    Unlike `_narrow`, which narrows the PSF in pixels and keeps the sky of 0.2 arcsec pixels, the
    camera itself has coarse pixels: 25 times the stars and galaxies per pixel, galaxies five times
    smaller in pixels, and the same sky per square arcsecond (five times the noise per pixel).
    Detectors of 1024 pixels (17 arcmin) keep the number of diaSources near the other tests'.
    """
    _variety(config)
    config.tracts = [4024]
    config.fieldsPerTract = 1
    config.detectorSize = 1024
    config.pixelScale = 1.0
    config.skySigma = 100.0
    config.templatePsfFwhmRange = [1.1, 1.4]
    config.seeingRange = [1.6, 2.6]


def _quality(config: SimulationConfig) -> None:
    """Many small visits, over half of them with a quality problem: to train and test exposure quality."""
    config.detectorSize = 1024
    config.nDetectors = 2
    config.fieldsPerTract = 12
    config.visitsPerField = 20
    # Good seeing is 0.6 to 1.0 arcsec; bad seeing about twice that.
    config.seeingRange = [0.6, 1.0]
    config.templatePsfFwhm = 0.55
    config.canvasMargin = 64
    # Twice the default sky density: a few hundred sources per detector for the histograms.
    config.starDensity = 50000.0
    config.galaxyDensity = 120000.0
    config.qualityRates = {
        "tracking": 0.1,
        "severe_tracking": 0.1,
        "focus": 0.1,
        "seeing": 0.1,
        "background": 0.15,
    }


PRESETS = {
    "tiny": (_tiny, "unit-test repository: 2 tracts x 2 detectors of 256x256 x 2 visits (seconds)"),
    "demo": (_demo, "demo repository: 2 tracts x 4 detectors of 1024x1024 x 3 visits (under 3 minutes)"),
    "training": (
        _training,
        "training-size repository: 2 tracts x 9 detectors of 2048x2048 x 5 visits, >= 20,000 diaSources",
    ),
    "variety": (
        _variety,
        "twice the training size, with variety: PSF families, 2-8 px seeing, noise, saturation, artifacts",
    ),
    "wide": (
        _wide,
        "variety with its seeing widened down to undersampled PSFs: 1.4-8 px seeing, 0.9-1.3 px templates",
    ),
    "wide_log": (
        _wide_log,
        "wide with log-uniform seeing, stratified per field: each tract has 1.4-2 px visits in every field",
    ),
    "multiscale": (
        _multiscale,
        "variety with a third field per tract of 0.5 arcsec pixels: denser, smaller sky at the same PSFs",
    ),
    "bothways": (
        _bothways,
        "variety with its second field's templates blurred: visits sharper than them convolve the science",
    ),
    "blurfield": (
        _blurfield,
        "variety plus a third field per tract under a blurred template: its sharper visits convolve science",
    ),
    "blurfield3x": (
        _blurfield3x,
        "blurfield with three times the nuclear residuals and glints per detector-visit (rbsim12's recipe)",
    ),
    "blurfield6": (
        _blurfield6,
        "blurfield3x over six fields per tract (two under blurred templates): twice the training triplets",
    ),
    "blurfield6short": (
        _blurfield6short,
        "blurfield6 with log-uniform glint lengths (one glint in five under 12 px, not one in thirteen)",
    ),
    "blurfield6shortsat": (
        _blurfield6shortsat,
        "blurfield6short with log-uniform saturation levels (half the visits under 71,000 nJy, not 1/4)",
    ),
    "blurfield6sqrt": (
        _blurfield6sqrt,
        "blurfield6 with square-root-uniform glint lengths (one glint in eight under 12 px, not 1/13)",
    ),
    "blurfield7narrow": (
        _blurfield7narrow,
        "blurfield6 plus a seventh field of sharper PSFs (seeing and template x0.65: 1.4-5.2 px)",
    ),
    "shifted": (
        _shifted,
        "test repository outside variety's ranges: tract 4024, defocused PSFs, 9-12 px seeing",
    ),
    "narrow": (
        _narrow,
        "test repository below variety's ranges: tract 4024, variety's PSF families at 1.4-2 px seeing",
    ),
    "sharp": (
        _sharp,
        "test repository of templates broader than most visits: tract 4024, science convolved to template",
    ),
    "coarse": (
        _coarse,
        "test repository of 1 arcsec pixels: tract 4024, variety's sky through a camera of ZTF's sampling",
    ),
    "quality": (
        _quality,
        "exposure quality: 2 tracts x 240 visits x 2 detectors of 1024x1024, 55% with a quality problem",
    ),
}
"""Named presets: function applying it to a config, and a description."""
