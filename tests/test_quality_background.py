"""The background check beside DESOM-2 (quality/background.py) and its place in the cell labels."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.quality.background import BackgroundCheck
from lsst.meas.realbogus.quality.labelling import CellLabels


def test_fit_on_good_exposures_and_flag():
    rng = np.random.default_rng(1)
    noise = rng.uniform(16, 26, 200)
    level = rng.uniform(0.02, 0.04, 200)
    check = BackgroundCheck.fit(noise, level * noise, noise_margin=1.25, level_margin=2.0)
    assert check.noise_median == pytest.approx(np.median(noise))
    assert check.max_noise_ratio == pytest.approx(1.25 * noise.max() / np.median(noise))
    assert check.max_level == pytest.approx(2.0 * level.max())
    # Every good exposure passes; high sky, a glow, and a NaN (not flagged) behave as said.
    assert not check.flags(noise, level * noise).any()
    # Backgrounds of 0.01, 0.5 and 0.03 rms.
    flags = check.flags([80.0, 20.0, 20.0, np.nan], [0.8, 10.0, 0.6, np.nan])
    assert flags.tolist() == [True, True, False, False]
    assert BackgroundCheck.from_dict(check.to_dict()) == check


def test_fit_needs_a_usable_exposure():
    with pytest.raises(ValueError, match="no good exposure"):
        BackgroundCheck.fit([np.nan, 0.0], [0.1, 0.1])


def test_cell_labels_keep_the_check():
    check = BackgroundCheck(noise_median=20.0, max_noise_ratio=1.5, max_level=0.1)
    labels = CellLabels("q1b", (1, 2), ["good", "background"], ["good", "good"], np.zeros((2, 2)))
    assert not labels.background_flags(np.array([90.0]), np.array([0.0])).any()  # no check: nothing
    labels.background_check = check
    again = CellLabels.from_dict(labels.to_dict())
    assert again.background_check == check
    assert again.background_flags(np.array([90.0, 20.0, 20.0]), np.array([0.0, 0.4, 10.0])).tolist() == [
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="label 'bg' is not among the classes"):
        CellLabels(
            "q1b", (1, 2), ["good", "background"], ["good", "good"], np.zeros((2, 2)),
            background_check=BackgroundCheck(20.0, 1.5, 0.1, label="bg"),
        )  # fmt: skip


def test_exposure_labels_are_the_cells_unless_the_sky_fails():
    labels = CellLabels("q1b", (1, 2), ["good", "seeing", "background"], ["good", "seeing"], np.zeros((2, 3)))
    cells, noise, level = np.array([0, 1, 1, -1]), np.array([20.0, 20.0, 90.0, 90.0]), np.zeros(4)
    got, cell_labels, flags = labels.exposure_labels(cells, noise, level)
    assert got.tolist() == cell_labels.tolist() == ["good", "seeing", "seeing", ""] and not flags.any()
    labels.background_check = BackgroundCheck(noise_median=20.0, max_noise_ratio=1.5, max_level=0.1)
    got, cell_labels, flags = labels.exposure_labels(cells, noise, level)
    # An unplaced exposure (cell -1) is labelled by the check too.
    assert got.tolist() == ["good", "seeing", "background", "background"]
    assert cell_labels.tolist() == ["good", "seeing", "seeing", ""] and flags.tolist() == [0, 0, 1, 1]
