"""ModelInput: the one path from images or stamps to a model-ready batch."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.meas.realbogus.stamps import CHANNELS, ModelInput, cut_images, normalize


def test_validation():
    with pytest.raises(ValueError, match="taken from"):
        ModelInput(("sky",), 21, "none")
    with pytest.raises(ValueError, match="repeat"):
        ModelInput(("science", "science"), 21, "none")
    with pytest.raises(ValueError, match="positive"):
        ModelInput(("science",), 0, "none")
    with pytest.raises(ValueError, match="normalization must be one of"):
        ModelInput(("science",), 21, "zscale")


def test_prepare_orders_crops_and_normalizes():
    rng = np.random.default_rng(0)
    stamps = rng.normal(size=(4, 3, 25, 25)).astype(np.float32)
    batch = ModelInput(("difference", "template"), 21, "robust").prepare(stamps)
    np.testing.assert_array_equal(batch, normalize(stamps[:, [2, 0], 2:23, 2:23].copy(), "robust"))
    # Stamps already in the model's order and size are normalized as they are.
    same = ModelInput(CHANNELS, 25, "none")
    assert same.prepare(stamps) is stamps
    # Stamps in another channel order.
    swapped = ModelInput(("science",), 25, "none").prepare(stamps[:, ::-1], stamp_channels=CHANNELS[::-1])
    np.testing.assert_array_equal(swapped[:, 0], stamps[:, 1])


def test_prepare_refuses_what_it_cannot_make():
    stamps = np.zeros((2, 3, 15, 15), np.float32)
    with pytest.raises(ValueError, match="cannot crop 15-pixel stamps to 21"):
        ModelInput(("science",), 21, "none").prepare(stamps)
    with pytest.raises(ValueError, match=r"lack the model's channels \['difference'\]"):
        ModelInput(("difference",), 15, "none").prepare(stamps[:, :2], ("template", "science"))
    with pytest.raises(ValueError, match="stamps must be"):
        ModelInput(("science",), 15, "none").prepare(stamps[:, :, :, :14])


def test_cut_is_cutting_then_prepare(detector_inputs):
    images = {k: detector_inputs[k] for k in ("template", "science", "difference")}
    dia = detector_inputs["diaSources"]
    model_input = ModelInput(("science", "difference"), 33, "mong_eq9")
    batch = model_input.cut(images, dia["x"], dia["y"], fill=1.0, bad_mask_planes=["NO_DATA"])
    raw = cut_images(
        images, model_input.channels, dia["x"], dia["y"], 33, fill=1.0, bad_mask_planes=["NO_DATA"]
    )
    np.testing.assert_array_equal(batch.data, normalize(raw.data, "mong_eq9"))
    assert batch.data.shape == (len(dia), 2, 33, 33)
    np.testing.assert_array_equal(batch.off_image, raw.off_image)
    np.testing.assert_array_equal(batch.bad_fraction, raw.bad_fraction)
