"""Focal-plane geometry of the simulated camera: detector layout, WCS and `lsst.images` detectors."""

from __future__ import annotations

__all__ = ("CameraGeometry",)

import math
from dataclasses import dataclass
from functools import cached_property

import astropy.wcs
import numpy as np

from lsst.images import Box
from lsst.images.cameras import CameraFrameSet, Detector, DetectorAttributes, DetectorType, Orientation
from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d

from .instrument import detector_full_name

PIXEL_SIZE_MM = 0.01
"""Physical pixel size (10 micron, as LSSTCam)."""


@dataclass(frozen=True)
class CameraGeometry:
    """Detectors laid out on a square grid around the optical axis.

    Parameters
    ----------
    instrument : `str`
        Instrument name.
    n_detectors : `int`
        Number of detectors.
    detector_size : `int`
        Detector width and height, in pixels.
    gap : `int`
        Gap between neighbouring detectors, in pixels.
    pixel_scale : `float`
        Pixel scale, in arcseconds per pixel.
    """

    instrument: str
    n_detectors: int
    detector_size: int
    gap: int
    pixel_scale: float

    def __getstate__(self) -> dict:
        # The cached AST frame set cannot be pickled; it is rebuilt on demand.
        return {k: v for k, v in self.__dict__.items() if k != "frames"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def grid_size(self) -> int:
        """Number of detectors along each side of the grid."""
        return math.ceil(math.sqrt(self.n_detectors))

    def detector_center(self, detector: int) -> tuple[float, float]:
        """Focal-plane position of a detector's centre, in pixels from the optical axis."""
        n = self.grid_size
        pitch = self.detector_size + self.gap
        row, col = divmod(detector, n)
        return ((col - (n - 1) / 2) * pitch, (row - (n - 1) / 2) * pitch)

    @property
    def field_radius(self) -> float:
        """Radius of the circle enclosing all detectors, in pixels."""
        half = (self.grid_size * (self.detector_size + self.gap) - self.gap) / 2
        return math.sqrt(2.0) * half

    def focal_plane(self, detector: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Focal-plane coordinates ``u, v`` in units of the field radius."""
        cx, cy = self.detector_center(detector)
        half = (self.detector_size - 1) / 2
        r = self.field_radius
        return (np.asarray(x) - half + cx) / r, (np.asarray(y) - half + cy) / r

    def wcs(self, detector: int, ra: float, dec: float) -> astropy.wcs.WCS:
        """Gnomonic WCS of a detector for a pointing at ``(ra, dec)`` degrees (north up, east left)."""
        cx, cy = self.detector_center(detector)
        half = (self.detector_size - 1) / 2
        return self._tan_wcs(ra, dec, crpix=(half - cx + 1.0, half - cy + 1.0))

    def sky_polygon(self, detector: int, ra: float, dec: float) -> ConvexPolygon:
        """Sky region of a detector as an `lsst.sphgeom.ConvexPolygon`."""
        lo, hi = -0.5, self.detector_size - 0.5
        return _polygon(self.wcs(detector, ra, dec), [lo, hi, hi, lo], [lo, lo, hi, hi])

    def field_polygon(self, ra: float, dec: float) -> ConvexPolygon:
        """Sky region enclosing all detectors of a pointing at ``(ra, dec)``."""
        half = (self.grid_size * (self.detector_size + self.gap) - self.gap) / 2
        # Pixel coordinates relative to the optical axis (CRPIX 1 puts it at pixel 0).
        wcs = self._tan_wcs(ra, dec, crpix=(1.0, 1.0))
        return _polygon(wcs, [-half, half, half, -half], [-half, -half, half, half])

    def _tan_wcs(self, ra: float, dec: float, crpix: tuple[float, float]) -> astropy.wcs.WCS:
        wcs = astropy.wcs.WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = [ra, dec]
        wcs.wcs.crpix = list(crpix)
        scale = self.pixel_scale / 3600.0
        wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
        return wcs

    @cached_property
    def frames(self) -> CameraFrameSet:
        """Camera coordinate frames (focal plane, field angle, and one pixel frame per detector)."""
        # lsst.images builds camera frame sets from AST objects; its AST shim
        # (astshim in the Rubin stack, starlink-pyast from PyPI) is private.
        from lsst.images._transforms import _ast as ast

        focal_plane = ast.Frame(2, "Ident=FOCAL_PLANE,Unit(1)=mm,Unit(2)=mm")
        frame_set = ast.FrameSet(focal_plane)
        rad_per_mm = math.radians(self.pixel_scale / 3600.0) / PIXEL_SIZE_MM
        frame_set.addFrame(
            1, ast.ZoomMap(2, rad_per_mm), ast.Frame(2, "Ident=FIELD_ANGLE,Unit(1)=rad,Unit(2)=rad")
        )
        half = (self.detector_size - 1) / 2
        for detector in range(self.n_detectors):
            cx, cy = self.detector_center(detector)
            to_pixels = ast.CmpMap(
                ast.ZoomMap(2, 1.0 / PIXEL_SIZE_MM), ast.ShiftMap([half - cx, half - cy]), True
            )
            frame_set.addFrame(
                1,
                to_pixels,
                ast.Frame(
                    2,
                    f"Ident=DETECTOR_{detector},Domain=PIXELS,Bottom(1)=0,Top(1)={self.detector_size},"
                    f"Bottom(2)=0,Top(2)={self.detector_size}",
                ),
            )
        return CameraFrameSet(self.instrument, frame_set)

    def detector(self, detector: int, visit: int | None = None) -> Detector:
        """The `lsst.images.cameras.Detector` of a detector, optionally for one visit."""
        cx, cy = self.detector_center(detector)
        attrs = DetectorAttributes(
            name=detector_full_name(detector),
            id=detector,
            type=DetectorType.SCIENCE,
            serial=f"SIM-{detector:03d}",
            bbox=Box.from_shape((self.detector_size, self.detector_size)),
            orientation=Orientation(
                focal_plane_x=cx * PIXEL_SIZE_MM, focal_plane_y=cy * PIXEL_SIZE_MM, focal_plane_z=0.0
            ),
            pixel_size=PIXEL_SIZE_MM,
            physical_type="SIM",
        )
        return Detector(attrs, [], self.frames, visit=visit)


def _polygon(wcs: astropy.wcs.WCS, xs: list[float], ys: list[float]) -> ConvexPolygon:
    """Sky polygon through the pixel positions ``xs, ys`` (counter-clockwise on the sky)."""
    ras, decs = wcs.all_pix2world(np.asarray(xs), np.asarray(ys), 0)
    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(a, d)) for a, d in zip(ras, decs)])
