"""A small DC2-like skymap: tracts with regions, their patches, and the fields observed in them.

``lsst.skymap`` is not on PyPI, so the skymap is described here by its
dimension records alone: a ``skymap`` record, one ``tract`` record per tract and
a grid of ``patch`` records, each with an `lsst.sphgeom` region, which is all
the butler needs to select visits and detectors with ``tract=...``.
"""

from __future__ import annotations

__all__ = ("TractInfo", "make_tracts", "skymap_records")

import hashlib
import math
from dataclasses import dataclass

from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d

# Approximate positions inside the DC2 footprint (RA 50-75 deg, Dec -45 to -27 deg) of the tracts the
# DC2 real/bogus studies used (DMTN-272: 3080 for training, 4024 for testing).
KNOWN_TRACT_CENTERS = {3080: (61.9, -37.5), 4024: (55.8, -31.9)}
TRACT_WIDTH = 1.6
"""Width and height of a tract, degrees."""
PATCHES_PER_SIDE = 4


def _box(ra: float, dec: float, half: float) -> ConvexPolygon:
    """Sky box of half-width ``half`` degrees (true angle) around ``(ra, dec)``."""
    cosd = math.cos(math.radians(dec))
    corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(ra + dx / cosd, dec + dy)) for dx, dy in corners])


@dataclass(frozen=True)
class TractInfo:
    """A tract: its id, centre, and the pointings (fields) observed in it.

    Parameters
    ----------
    id : `int`
        Tract number.
    ra, dec : `float`
        Centre, degrees.
    fields : `tuple` [`tuple` [`float`, `float`]]
        Pointing centres ``(ra, dec)`` of the fields observed in this tract.
    """

    id: int
    ra: float
    dec: float
    fields: tuple[tuple[float, float], ...]

    @property
    def region(self) -> ConvexPolygon:
        """Sky region of the tract."""
        return _box(self.ra, self.dec, TRACT_WIDTH / 2)

    def patch_regions(self) -> list[tuple[int, int, int, ConvexPolygon]]:
        """``(patch id, cell_x, cell_y, region)`` of each patch."""
        out = []
        step = TRACT_WIDTH / PATCHES_PER_SIDE
        cosd = math.cos(math.radians(self.dec))
        for cy in range(PATCHES_PER_SIDE):
            for cx in range(PATCHES_PER_SIDE):
                dx = (cx + 0.5) * step - TRACT_WIDTH / 2
                dy = (cy + 0.5) * step - TRACT_WIDTH / 2
                region = _box(self.ra + dx / cosd, self.dec + dy, step / 2)
                out.append((cy * PATCHES_PER_SIDE + cx, cx, cy, region))
        return out


def make_tracts(tract_ids: list[int], fields_per_tract: int, field_radius_deg: float) -> list[TractInfo]:
    """Place tracts and their fields.

    Fields sit on a ring around the tract centre (or at the centre when there
    is only one), far enough inside the tract that all detectors overlap it.
    """
    tracts = []
    for index, tract in enumerate(tract_ids):
        ra, dec = KNOWN_TRACT_CENTERS.get(tract, (50.0 + 2.0 * (index % 12), -35.0 + 2.0 * (index // 12)))
        if fields_per_tract == 1:
            fields = ((ra, dec),)
        else:
            ring = max(min(TRACT_WIDTH / 2 - field_radius_deg, 0.5), 0.0)
            cosd = math.cos(math.radians(dec))
            fields = tuple(
                (
                    ra + ring * math.cos(2 * math.pi * f / fields_per_tract) / cosd,
                    dec + ring * math.sin(2 * math.pi * f / fields_per_tract),
                )
                for f in range(fields_per_tract)
            )
        tracts.append(TractInfo(tract, ra, dec, fields))
    return tracts


def skymap_records(name: str, tracts: list[TractInfo]) -> dict[str, list[dict]]:
    """Dimension records (``skymap``, ``tract``, ``patch``) describing the skymap."""
    digest = hashlib.sha1(repr([(t.id, t.ra, t.dec) for t in tracts]).encode()).digest()
    records: dict[str, list[dict]] = {
        "skymap": [
            {
                "name": name,
                "hash": digest,
                "tract_max": max(t.id for t in tracts) + 1,
                "patch_nx_max": PATCHES_PER_SIDE,
                "patch_ny_max": PATCHES_PER_SIDE,
            }
        ],
        "tract": [],
        "patch": [],
    }
    for t in tracts:
        records["tract"].append({"skymap": name, "id": t.id, "region": t.region})
        for patch, cx, cy, region in t.patch_regions():
            records["patch"].append(
                {"skymap": name, "tract": t.id, "id": patch, "cell_x": cx, "cell_y": cy, "region": region}
            )
    return records
