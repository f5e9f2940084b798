"""Configuration of the simulated DC2-like repository, with presets."""

from __future__ import annotations

__all__ = ("PRESETS", "SimulationConfig")

import os

import lsst.pex.config as pexConfig


class SimulationConfig(pexConfig.Config):
    """Everything that defines a simulated repository (besides the random seed)."""

    instrument = pexConfig.Field[str](doc="Name of the simulated instrument.", default="RBSimCam")
    skymap = pexConfig.Field[str](doc="Name of the simulated skymap.", default="DC2_sim")
    tracts = pexConfig.ListField[int](
        doc="Tracts to simulate (as in the DC2 studies: 3080 for training, 4024 for testing).",
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
    canvasMargin = pexConfig.Field[int](
        doc="Padding around each detector on which the sky is drawn (light from just outside the "
        "detector, and room for convolutions), in pixels.",
        default=32,
    )
    templatePsfFwhm = pexConfig.Field[float](
        doc="FWHM of the template PSF core, arcsec; science seeing is always broader.", default=0.65
    )
    seeingRange = pexConfig.ListField[float](
        doc="Range of the science PSF FWHM at the field centre, arcsec.", default=[0.8, 1.3], length=2
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
    detectionThreshold = pexConfig.Field[float](
        doc="Difference-image detection threshold, sigma.", default=5.0
    )
    transientEdgeBuffer = pexConfig.Field[int](
        doc="Minimum distance of injected transients from the detector edge, pixels.", default=5
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

    def validate(self) -> None:
        super().validate()
        if len(set(self.tracts)) != len(self.tracts):
            raise pexConfig.FieldValidationError(SimulationConfig.tracts, self, "tracts must be unique")
        if not self.bands:
            raise pexConfig.FieldValidationError(SimulationConfig.bands, self, "at least one band is needed")
        for name in ("seeingRange", "starMags", "galaxyMags", "transientMags", "skySigmaRange"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise pexConfig.FieldValidationError(
                    getattr(SimulationConfig, name), self, f"{name} must be increasing, got {lo}, {hi}"
                )
        if self.seeingRange[0] <= self.templatePsfFwhm:
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


PRESETS = {
    "tiny": (_tiny, "unit-test repository: 2 tracts x 2 detectors of 256x256 x 2 visits (seconds)"),
    "demo": (_demo, "demo repository: 2 tracts x 4 detectors of 1024x1024 x 3 visits (under 3 minutes)"),
    "training": (
        _training,
        "training-size repository: 2 tracts x 9 detectors of 2048x2048 x 5 visits, >= 20,000 diaSources",
    ),
}
"""Named presets: function applying it to a config, and a description."""
