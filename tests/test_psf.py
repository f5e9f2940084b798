"""PSF, kernel and stamp numerics of the simulator."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.simulation.psf import (
    GaussianMixture,
    KernelBasis,
    KernelModel,
    VaryingConvolver,
    add_stamps,
    extract_stamps,
    gaussian_stamps,
)


def _moments(image):
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    total = image.sum()
    cx, cy = (image * xx).sum() / total, (image * yy).sum() / total
    return total, cx, cy, (image * ((xx - cx) ** 2)).sum() / total


@pytest.mark.parametrize("s2", [0.0, 0.3, 2.7, 11.0, 39.9])
def test_kernel_weights_reproduce_variance(s2):
    basis = KernelBasis(step=0.5, maximum=40.0)
    indices, weights = basis.weights(np.array([s2]))
    assert np.isclose(weights.sum(), 1.0)
    assert np.isclose((weights[:, 0] * basis.sigma2[indices]).sum(), s2)
    assert np.all(weights >= 0)


def test_kernel_weights_refuse_too_wide():
    with pytest.raises(ValueError, match="exceeds"):
        KernelBasis(step=0.5, maximum=4.0).weights(np.array([5.0]))


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_convolver_broadens_and_shifts(sigma):
    shape = (64, 64)
    image = np.zeros(shape)
    image[32, 32] = 1.0
    basis = KernelBasis(step=0.25, maximum=10.0)
    conv = VaryingConvolver(shape, basis)
    indices, weights = basis.weights(np.full(shape, sigma**2))
    out = conv.apply(conv.forward(image), indices, weights, shift=(0.3, -0.4))
    total, cx, cy, var = _moments(out)
    assert total == pytest.approx(1.0, abs=1e-5)
    assert cx == pytest.approx(31.6, abs=1e-3)
    assert cy == pytest.approx(32.3, abs=1e-3)
    # Second moment: kernel variance plus the (sinc-interpolated) shift's spread, small for a delta.
    assert var == pytest.approx(sigma**2, rel=0.1)


def test_kernel_overlaps_match_direct_sum():
    shape = (48, 50)
    basis = KernelBasis(step=1.0, maximum=8.0)
    conv = VaryingConvolver(shape, basis)
    indices = np.array([0, 2, 5])
    overlaps = conv.kernel_overlaps(indices)
    kernels = []
    for i in indices:
        delta = np.zeros(shape)
        delta[0, 0] = 1.0
        w = np.ones((1,) + shape)
        kernels.append(conv.apply(conv.forward(delta), np.array([i]), w))
    direct = np.array([[np.sum(a * b) for b in kernels] for a in kernels])
    assert np.allclose(overlaps, direct, rtol=1e-4, atol=1e-7)
    assert overlaps[0, 0] == pytest.approx(1.0)


def test_convolved_white_noise_variance():
    """The kernel-power formula gives the variance of convolved white noise."""
    rng = np.random.default_rng(0)
    shape = (256, 256)
    basis = KernelBasis(step=0.5, maximum=10.0)
    conv = VaryingConvolver(shape, basis)
    indices, weights = basis.weights(np.full(shape, 1.7))
    noise = rng.standard_normal(shape)
    out = conv.apply(conv.forward(noise), indices, weights)
    w = weights[:, 0, 0]
    predicted = w @ conv.kernel_overlaps(indices) @ w
    assert np.var(out) == pytest.approx(predicted, rel=0.05)


def test_gaussian_stamps_flux_and_centroid():
    x = np.array([10.3, 20.0, 5.7])
    y = np.array([12.8, 7.5, 30.1])
    amps = np.array([[0.9, 0.1]] * 3)
    sigmas = np.array([[1.5, 3.0]] * 3)
    stamps, xi, yi = gaussian_stamps(x, y, amps, sigmas, half=15)
    assert np.allclose(stamps.sum(axis=(1, 2)), 1.0, atol=1e-4)
    image = np.zeros((40, 40))
    add_stamps(image, stamps[:1], xi[:1], yi[:1])
    total, cx, cy, _ = _moments(image)
    assert (cx, cy) == pytest.approx((10.3, 12.8), abs=1e-3)


def test_add_and_extract_stamps_clip_at_edges():
    image = np.zeros((10, 10))
    stamp = np.ones((1, 5, 5))
    add_stamps(image, stamp, np.array([0]), np.array([9]))
    assert image.sum() == 9.0  # a 3x3 corner of the stamp lands on the image
    cut, inside = extract_stamps(image, np.array([0]), np.array([9]), 2, fill=-1.0)
    assert inside.sum() == 9
    assert np.all(cut[~inside] == -1.0)
    assert np.all(cut[inside] == 1.0)


def test_effective_sigma_of_single_gaussian():
    psf = GaussianMixture(np.array([1.0]), np.array([2.0]))
    assert psf.effective_sigma == pytest.approx(2.0)
    wide = psf.convolved(np.array([0.5, 0.5]), np.array([0.0, 2.0]))
    assert 2.0 < wide.effective_sigma < np.sqrt(8.0)
    assert wide.amplitudes.sum() == pytest.approx(1.0)


def test_kernel_model_gradients():
    model = KernelModel(s2=2.0, gx=0.1, gy=-0.2, gr=0.3)
    assert model.sigma2(np.array(0.0), np.array(0.0)) == pytest.approx(2.0)
    assert model.sigma2(np.array(1.0), np.array(0.0)) == pytest.approx(2.0 * 1.4)
    assert model.scaled(1.1).s2 == pytest.approx(2.2)


# ---------------------------------------------------------------- PSF families and resampling

from lsst.meas.realbogus.simulation.psf_families import (  # noqa: E402
    PSF_FAMILIES,
    PsfFamilyParameters,
    family_kernel,
    kernel_transfer,
    misfit_parameters,
)
from lsst.meas.realbogus.simulation.resampling import resample  # noqa: E402


def _half_max_width(profile: np.ndarray) -> float:
    """Distance between the outermost half-maximum crossings of a 1-d profile (linear interpolation)."""
    half = profile.max() / 2
    above = np.flatnonzero(profile >= half)
    lo, hi = above[0], above[-1]
    left = lo - (profile[lo] - half) / (profile[lo] - profile[lo - 1])
    right = hi + (profile[hi] - half) / (profile[hi] - profile[hi + 1])
    return float(right - left)


@pytest.mark.parametrize("family", PSF_FAMILIES)
@pytest.mark.parametrize("fwhm", [4.0, 7.5])
def test_psf_family_has_unit_flux_and_the_fwhm_asked_for(family, fwhm):
    params = PsfFamilyParameters(family=family, fwhm=fwhm, beta=2.5, axis_ratio=0.6, angle=0.0)
    kernel = family_kernel(params)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(kernel >= 0)
    c = kernel.shape[0] // 2
    if family == "gaussian":
        # The identity kernel: a delta function.
        assert kernel[c, c] == 1.0
        return
    major, minor = _half_max_width(kernel[c, :]), _half_max_width(kernel[:, c])
    measured = np.sqrt(major * minor)
    # Pixel integration broadens the profile slightly.
    assert measured == pytest.approx(fwhm, rel=0.07)
    if family == "elongated":
        assert minor / major == pytest.approx(0.6, rel=0.1)
    else:
        assert major == pytest.approx(minor, rel=1e-6)
    # Centred: the first moments vanish.
    yy, xx = np.indices(kernel.shape) - c
    assert abs((kernel * xx).sum()) < 1e-9 and abs((kernel * yy).sum()) < 1e-9


def test_defocused_kernel_is_a_donut():
    kernel = family_kernel(PsfFamilyParameters(family="defocused", fwhm=12.0, obscuration=0.5))
    c = kernel.shape[0] // 2
    assert kernel[c, c] == 0.0
    assert kernel[c, c + 4] > 0.0


def test_kernel_transfer_convolves_without_shift():
    kernel = family_kernel(PsfFamilyParameters(family="moffat", fwhm=5.0, beta=3.0))
    image = np.zeros((64, 80))
    image[30, 40] = 1.0
    transfer = kernel_transfer(kernel, image.shape)
    out = np.fft.irfft2(np.fft.rfft2(image) * transfer, s=image.shape)
    total, cx, cy, _ = _moments(out)
    assert total == pytest.approx(1.0, abs=1e-5)
    assert (cx, cy) == (pytest.approx(40.0, abs=1e-4), pytest.approx(30.0, abs=1e-4))
    c = kernel.shape[0] // 2
    np.testing.assert_allclose(out[30 - c : 30 + c + 1, 40 - c : 40 + c + 1], kernel, atol=1e-6)


def test_misfit_changes_the_estimate_only_for_non_gaussian_families():
    rng = np.random.default_rng(1)
    gaussian = PsfFamilyParameters()
    assert misfit_parameters(rng, gaussian, 0.1) == gaussian
    moffat = PsfFamilyParameters(family="moffat", fwhm=5.0, beta=3.0)
    estimate = misfit_parameters(rng, moffat, 0.1)
    assert estimate.family == "moffat" and estimate.fwhm != moffat.fwhm
    assert misfit_parameters(rng, moffat, 0.0) == moffat


@pytest.mark.parametrize("kernel", ["bilinear", "lanczos3"])
def test_resampling_correlates_noise_and_propagates_variance(kernel):
    rng = np.random.default_rng(4)
    noise = rng.standard_normal((400, 400))
    out, var = resample(noise, np.ones_like(noise), kernel, (0.5, 0.5))
    inner = (slice(5, -5), slice(5, -5))
    assert np.var(out[inner]) == pytest.approx(var[inner].mean(), rel=0.03)
    z = out[inner]
    rho = np.mean(z[:, 1:] * z[:, :-1]) / np.var(z)
    assert rho > 0.1
    # Content moves by minus the offset: a ramp is interpolated half a pixel ahead.
    ramp = np.tile(np.arange(50.0), (20, 1))
    moved, _ = resample(ramp, np.ones_like(ramp), kernel, (0.0, 0.5))
    np.testing.assert_allclose(moved[:, 5:-5], ramp[:, 5:-5] + 0.5, atol=1e-2)
    same, _ = resample(noise, np.ones_like(noise), "none", (0.5, 0.5))
    assert same is noise
