"""Reading only some planes of an image through a deferred handle (butler/planes.py)."""

from __future__ import annotations

import numpy as np
import pytest
from lsst.daf.butler import Butler, DeferredDatasetHandle
from lsst.meas.realbogus.butler.planes import read_planes


@pytest.fixture(scope="module")
def handles(tiny_repo):
    repo, _ = tiny_repo
    with Butler.from_config(str(repo), collections=["RBSimCam/sim"]) as butler:
        ref = butler.query_datasets("difference_image", limit=1)[0]
        yield (
            butler,
            {
                name: DeferredDatasetHandle(butler, butler.find_dataset(name, ref.dataId), None)
                for name in ("difference_image", "preliminary_visit_image", "dia_source_unstandardized")
            },
        )


def test_image_and_mask_are_those_of_the_full_read(handles):
    butler, handle = handles
    for name in ("difference_image", "preliminary_visit_image"):
        full = handle[name].get()
        planes = read_planes(handle[name])
        assert type(planes).__name__ == "MaskedImage"
        assert planes.bbox == full.bbox
        np.testing.assert_array_equal(planes.image.array, full.image.array)
        np.testing.assert_array_equal(planes.mask.array, full.mask.array)
        assert planes.mask.schema.names == full.mask.schema.names
        # The variance was not read: a placeholder, not the image's.
        assert not np.array_equal(planes.variance.array, full.variance.array)


def test_variance_when_asked_and_image_required(handles):
    _, handle = handles
    planes = read_planes(handle["difference_image"], ("image", "mask", "variance"))
    np.testing.assert_array_equal(planes.variance.array, handle["difference_image"].get().variance.array)
    for planes in (("mask",), ("image",), ("image", "mask", "psf")):
        with pytest.raises(ValueError, match="must be 'image' and 'mask'"):
            read_planes(handle["difference_image"], planes)


def test_storage_class_without_components_is_read_whole(handles):
    _, handle = handles
    table = read_planes(handle["dia_source_unstandardized"])
    assert len(table) == len(handle["dia_source_unstandardized"].get())
