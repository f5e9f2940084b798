"""Reading only the planes of an image that a task needs."""

from __future__ import annotations

__all__ = ["IMAGE_AND_MASK", "read_planes"]

from collections.abc import Sequence
from typing import Any

IMAGE_AND_MASK = ("image", "mask")


def read_planes(handle: Any, planes: Sequence[str] = IMAGE_AND_MASK) -> Any:
    """Read some planes of a masked image (e.g. not its variance) through a deferred handle.

    Parameters
    ----------
    handle : `lsst.daf.butler.DeferredDatasetHandle`
        Handle of a dataset whose storage class is an `lsst.images` masked
        image (``VisitImage``, ``DifferenceImage``, ``MaskedImageV2``).
    planes : sequence of `str`
        Planes to read: ``image`` and ``mask``, and optionally ``variance``.

    Returns
    -------
    image : `lsst.images.MaskedImage` or the full dataset
        A masked image holding the planes read (its other planes are
        placeholders). When the storage class cannot read several components
        at once (an afw exposure converted on read, say), the whole dataset.
    """
    if not {"image", "mask"} <= set(planes) <= {"image", "mask", "variance"}:
        raise ValueError(f"planes {list(planes)} must be 'image' and 'mask', and optionally 'variance'")
    components = handle.ref.datasetType.storageClass.allComponents()
    if "components" not in components or not all(p in components for p in planes):
        return handle.get()
    from lsst.images import MaskedImage

    parts = handle.get(component="components", parameters={"components": list(planes)})
    return MaskedImage(parts["image"], mask=parts["mask"], variance=parts.get("variance"))
