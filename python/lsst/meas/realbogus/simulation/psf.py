"""Point-spread functions and PSF-matching kernels of the simulator.

Every PSF in the simulator is a mixture of circular Gaussians.  The template
PSF is a double Gaussian (core plus wing); the PSF of a science exposure is the
template PSF convolved with a spatially varying Gaussian kernel whose width is
a smooth function of focal-plane position and changes from visit to visit.  A
spatially varying kernel is represented, as in Alard-Lupton style image
subtraction, by a small basis of Gaussian kernels whose weights vary across the
detector: the weights interpolate linearly in kernel variance, so the second
moment of the mixture equals the requested one exactly.

All functions here are pure numerics on numpy arrays.  Pixel centres are at
integer coordinates (the LSST convention), so pixel ``i`` covers
``[i - 0.5, i + 0.5)``.
"""

from __future__ import annotations

__all__ = (
    "GaussianMixture",
    "KernelBasis",
    "KernelModel",
    "VaryingConvolver",
    "add_stamps",
    "extract_stamps",
    "gaussian_stamps",
)

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.special import erf

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class GaussianMixture:
    """A normalized mixture of concentric circular Gaussians.

    Parameters
    ----------
    amplitudes : `numpy.ndarray`
        Fraction of the flux in each component; they sum to one.
    sigmas : `numpy.ndarray`
        Gaussian sigma of each component, in pixels.
    """

    amplitudes: np.ndarray
    sigmas: np.ndarray

    @classmethod
    def double_gaussian(
        cls, fwhm: float, wing_ratio: float = 2.0, wing_fraction: float = 0.1
    ) -> GaussianMixture:
        """Make a core-plus-wing PSF.

        Parameters
        ----------
        fwhm : `float`
            FWHM of the core component, in pixels.
        wing_ratio : `float`
            Ratio of the wing sigma to the core sigma.
        wing_fraction : `float`
            Fraction of the flux in the wing.
        """
        core = fwhm / FWHM_PER_SIGMA
        return cls(np.array([1.0 - wing_fraction, wing_fraction]), np.array([core, wing_ratio * core]))

    def convolved(self, weights: np.ndarray, kernel_sigmas: np.ndarray) -> GaussianMixture:
        """Convolve with a mixture of Gaussian kernels.

        Parameters
        ----------
        weights : `numpy.ndarray`
            Weight of each kernel; they sum to one.
        kernel_sigmas : `numpy.ndarray`
            Sigma of each kernel, in pixels (zero for the identity).
        """
        amps = np.outer(self.amplitudes, weights).ravel()
        sigmas = np.sqrt(self.sigmas[:, None] ** 2 + np.asarray(kernel_sigmas)[None, :] ** 2).ravel()
        keep = amps != 0
        return GaussianMixture(amps[keep], sigmas[keep])

    @property
    def effective_sigma(self) -> float:
        """Sigma of the Gaussian with the same effective area (the same point-source S/N)."""
        s2 = self.sigmas[:, None] ** 2 + self.sigmas[None, :] ** 2
        sum_p2 = np.sum(np.outer(self.amplitudes, self.amplitudes) / (2.0 * np.pi * s2))
        return float(np.sqrt(1.0 / (4.0 * np.pi * sum_p2)))

    @property
    def effective_fwhm(self) -> float:
        """FWHM of the equivalent Gaussian, in pixels."""
        return self.effective_sigma * FWHM_PER_SIGMA


@dataclass(frozen=True)
class KernelModel:
    """Spatial model of the variance of a Gaussian PSF-matching kernel.

    ``sigma2(u, v) = s2 * (1 + gx * u + gy * v + gr * (u**2 + v**2))``, where
    ``u, v`` are focal-plane coordinates in units of the field radius.

    Parameters
    ----------
    s2 : `float`
        Kernel variance at the field centre, in pixels squared.
    gx, gy, gr : `float`
        Linear and radial gradients of the variance across the field.
    """

    s2: float
    gx: float = 0.0
    gy: float = 0.0
    gr: float = 0.0

    def sigma2(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Kernel variance at focal-plane positions ``u, v``."""
        return np.maximum(self.s2 * (1.0 + self.gx * u + self.gy * v + self.gr * (u * u + v * v)), 0.0)

    def scaled(self, factor: float) -> KernelModel:
        """Return the model with the variance scaled by ``factor`` (a mis-estimated kernel)."""
        return KernelModel(self.s2 * factor, self.gx, self.gy, self.gr)


class KernelBasis:
    """Gaussian kernels evenly spaced in variance.

    Parameters
    ----------
    step : `float`
        Spacing of the kernel variances, in pixels squared.
    maximum : `float`
        Largest kernel variance, in pixels squared.
    """

    def __init__(self, step: float = 0.5, maximum: float = 40.0) -> None:
        self.sigma2 = np.arange(0.0, maximum + step / 2, step)
        self.step = step

    @property
    def sigmas(self) -> np.ndarray:
        """Sigma of each basis kernel, in pixels."""
        return np.sqrt(self.sigma2)

    def weights(self, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights that reproduce kernel variance ``s2`` by linear interpolation.

        Parameters
        ----------
        s2 : `numpy.ndarray`
            Requested kernel variances (any shape).

        Returns
        -------
        indices : `numpy.ndarray`
            Indices of the basis kernels with non-zero weight somewhere.
        weights : `numpy.ndarray`
            Array of shape ``(len(indices),) + s2.shape``; sums to one along
            the first axis.
        """
        s2 = np.asarray(s2, dtype=float)
        if np.any(s2 > self.sigma2[-1]):
            raise ValueError(
                f"Kernel variance {s2.max():.2f} px^2 exceeds the basis maximum {self.sigma2[-1]} px^2."
            )
        pos = (s2 / self.step).astype(np.float32)
        lo = int(np.floor(pos.min()))
        hi = min(int(np.floor(pos.max())) + 1, len(self.sigma2) - 1)
        indices = np.arange(lo, max(hi, lo + 1) + 1) if lo + 1 < len(self.sigma2) else np.array([lo - 1, lo])
        # Linear interpolation: the weight of kernel i is the hat function max(0, 1 - |pos - i|).
        weights = np.stack([np.maximum(0.0, 1.0 - np.abs(pos - i)) for i in indices])
        return indices, weights


class VaryingConvolver:
    """Convolve images of one shape with spatially varying Gaussian kernels.

    The convolution is done in Fourier space, so a sub-pixel shift (an
    astrometric misregistration) costs nothing extra.  Images are treated as
    periodic: callers pad them by more than the kernel radius.

    Parameters
    ----------
    shape : `tuple` [`int`, `int`]
        Shape of the images, ``(ny, nx)``.
    basis : `KernelBasis`
        The kernel basis.
    """

    def __init__(self, shape: tuple[int, int], basis: KernelBasis) -> None:
        self.shape = shape
        self.basis = basis
        ky = scipy.fft.fftfreq(shape[0])
        kx = scipy.fft.rfftfreq(shape[1])
        self._ky = ky[:, None]
        self._kx = kx[None, :]
        self._k2 = ((2.0 * np.pi) ** 2 * (self._ky**2 + self._kx**2)).astype(np.float32)
        self._transfer: dict[int, np.ndarray] = {}

    def gaussian_transfer(self, s2: float) -> np.ndarray:
        """Transfer function of a circular Gaussian of variance ``s2`` (pixels^2) on the real-FFT plane.

        In double precision, for the noise and PSF sums taken over it (`transfer` keeps the cached
        single-precision ones of the basis kernels, which convolve images).
        """
        return np.exp(-0.5 * s2 * self._k2.astype(float))

    def plane_sum(self, values: np.ndarray) -> float:
        """Sum over the full FFT plane of a real-symmetric function given on the real-FFT half plane.

        The interior columns of a real FFT stand for two (their mirror images are not stored); with
        ``values`` a squared transfer function, the sum divided by the number of pixels is the sum of
        the squared pixels of its kernel (Parseval).
        """
        weight = np.full(values.shape[1], 2.0)
        weight[0] = 1.0
        if self.shape[1] % 2 == 0:
            weight[-1] = 1.0
        return float(np.sum(weight * values))

    def forward(self, image: np.ndarray) -> np.ndarray:
        """Fourier transform of an image (computed once, reused for every kernel).

        The transform is done in single precision: its rounding errors are
        orders of magnitude below the noise of the simulated images.
        """
        return scipy.fft.rfft2(np.asarray(image, dtype=np.float32), workers=-1)

    def transfer(self, index: int) -> np.ndarray:
        """Transfer function of basis kernel ``index`` (cached)."""
        if index not in self._transfer:
            self._transfer[index] = np.exp(-0.5 * np.float32(self.basis.sigma2[index]) * self._k2)
        return self._transfer[index]

    def apply(
        self,
        image_fft: np.ndarray,
        indices: np.ndarray,
        weights: np.ndarray,
        shift: tuple[float, float] = (0.0, 0.0),
    ) -> np.ndarray:
        """Convolve with the kernel mixture ``sum_i weights[i] * G(basis[indices[i]])``.

        Parameters
        ----------
        image_fft : `numpy.ndarray`
            Output of `forward`.
        indices, weights : `numpy.ndarray`
            Output of `KernelBasis.weights` for every pixel of the image.
        shift : `tuple` [`float`, `float`]
            Shift ``(dy, dx)`` in pixels applied to the image content.
        """
        if shift != (0.0, 0.0):
            phase = np.exp(-2j * np.pi * (self._ky * shift[0] + self._kx * shift[1])).astype(np.complex64)
            image_fft = image_fft * phase
        out = np.zeros(self.shape)
        for index, weight in zip(indices, weights):
            if not np.any(weight):
                continue
            out += weight * scipy.fft.irfft2(image_fft * self.transfer(index), s=self.shape, workers=-1)
        return out

    def kernel_overlaps(self, indices: np.ndarray) -> np.ndarray:
        """Matrix of ``sum_pixels K_i * K_j`` for the discrete basis kernels.

        With it, the variance that a kernel mixture with weights ``w`` gives to
        white noise of unit variance is ``w @ M @ w``.
        """
        s2 = self.basis.sigma2[indices]
        n = self.shape[0] * self.shape[1]
        m = np.empty((len(indices), len(indices)))
        for a in range(len(indices)):
            for b in range(a, len(indices)):
                m[a, b] = m[b, a] = self.plane_sum(self.gaussian_transfer(s2[a] + s2[b])) / n
        return m


def _pixel_integrated(offsets: np.ndarray, sigmas: np.ndarray, half: int) -> np.ndarray:
    """Pixel-integrated 1-d Gaussians.

    Parameters
    ----------
    offsets : `numpy.ndarray`, shape (N,)
        Sub-pixel offset of each source from the stamp's central pixel.
    sigmas : `numpy.ndarray`, shape (N, C)
        Sigma of each component of each source.
    half : `int`
        Half-width of the stamp.

    Returns
    -------
    profile : `numpy.ndarray`, shape (N, C, 2 * half + 1)
    """
    edges = np.arange(-half - 0.5, half + 1.0)[None, None, :] - offsets[:, None, None]
    cdf = erf(edges / (np.sqrt(2.0) * sigmas[:, :, None]))
    return 0.5 * np.diff(cdf, axis=-1)


def gaussian_stamps(
    x: np.ndarray, y: np.ndarray, amplitudes: np.ndarray, sigmas: np.ndarray, half: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw unit-flux Gaussian-mixture point sources into postage stamps.

    Parameters
    ----------
    x, y : `numpy.ndarray`, shape (N,)
        Source centres in pixel coordinates.
    amplitudes, sigmas : `numpy.ndarray`, shape (N, C)
        Mixture of each source (a row may be padded with zero amplitudes).
    half : `int`
        Half-width of the stamps.

    Returns
    -------
    stamps : `numpy.ndarray`, shape (N, 2 * half + 1, 2 * half + 1)
        Pixel-integrated profiles; the flux inside a stamp is slightly
        below one when the stamp truncates the wings.
    xi, yi : `numpy.ndarray`, shape (N,)
        Integer pixel of each stamp's centre.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xi = np.floor(x + 0.5).astype(int)
    yi = np.floor(y + 0.5).astype(int)
    sig = np.maximum(np.asarray(sigmas, dtype=float), 1e-3)
    px = _pixel_integrated(x - xi, sig, half)
    py = _pixel_integrated(y - yi, sig, half)
    stamps = np.einsum("nc,ncy,ncx->nyx", np.asarray(amplitudes, dtype=float), py, px)
    return stamps, xi, yi


def _stamp_indices(
    shape: tuple[int, int], xi: np.ndarray, yi: np.ndarray, half: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = np.arange(-half, half + 1)
    rows = yi[:, None, None] + offsets[None, :, None]
    cols = xi[:, None, None] + offsets[None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return rows, cols, inside


def add_stamps(image: np.ndarray, stamps: np.ndarray, xi: np.ndarray, yi: np.ndarray) -> None:
    """Add stamps (from `gaussian_stamps`) into ``image`` in place, clipping at its edges."""
    if len(stamps) == 0:
        return
    half = stamps.shape[-1] // 2
    rows, cols, inside = _stamp_indices(image.shape, xi, yi, half)
    np.add.at(image, (rows[inside], cols[inside]), stamps[inside])


def extract_stamps(
    image: np.ndarray, xi: np.ndarray, yi: np.ndarray, half: int, fill: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Cut stamps centred on integer pixels, with ``fill`` outside the image.

    Returns
    -------
    stamps : `numpy.ndarray`, shape (N, 2 * half + 1, 2 * half + 1)
    inside : `numpy.ndarray` of `bool`, same shape
        Which stamp pixels lie inside the image.
    """
    rows, cols, inside = _stamp_indices(image.shape, np.asarray(xi), np.asarray(yi), half)
    stamps = np.full(rows.shape, fill, dtype=image.dtype)
    stamps[inside] = image[rows[inside], cols[inside]]
    return stamps, inside
