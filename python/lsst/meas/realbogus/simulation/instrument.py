"""The simulated instrument, registrable with ``butler register-instrument``."""

from __future__ import annotations

__all__ = ("BANDS", "MAX_DETECTORS", "RBSimCam")

from typing import Any

from lsst.pipe.base import Instrument
from lsst.utils.introspection import get_full_type_name

MAX_DETECTORS = 189
"""Detectors registered for the instrument (as many as LSSTCam's science detectors)."""

BANDS = ("u", "g", "r", "i", "z", "y")
"""Bands; the physical filter of band ``b`` is ``sim_b``."""


class RBSimCam(Instrument):
    """A simulated LSSTCam-like camera for the meas_realbogus simulator.

    It registers `MAX_DETECTORS` detectors (a repository uses as many of them
    as it simulates) and one physical filter per LSST band.  It has no raw data
    and no afw camera: the simulator writes processed images directly.

    Register it with::

        butler register-instrument REPO lsst.meas.realbogus.simulation.instrument.RBSimCam
    """

    @classmethod
    def getName(cls) -> str:
        return "RBSimCam"

    def getCamera(self) -> Any:
        raise NotImplementedError("RBSimCam has no afw camera; see lsst.meas.realbogus.simulation.camera.")

    def register(self, registry: Any, *, update: bool = False) -> None:
        name = self.getName()
        with registry.transaction():
            registry.syncDimensionData(
                "instrument",
                {
                    "name": name,
                    "detector_max": MAX_DETECTORS,
                    "visit_max": 2**24,
                    "exposure_max": 2**24,
                    "class_name": get_full_type_name(self),
                },
                update=update,
            )
            for detector in range(MAX_DETECTORS):
                raft, sensor = divmod(detector, 9)
                registry.syncDimensionData(
                    "detector",
                    {
                        "instrument": name,
                        "id": detector,
                        "full_name": detector_full_name(detector),
                        "name_in_raft": f"S{sensor // 3}{sensor % 3}",
                        "raft": f"R{raft:02d}",
                        "purpose": "SCIENCE",
                    },
                    update=update,
                )
            for band in BANDS:
                registry.syncDimensionData(
                    "physical_filter",
                    {"instrument": name, "name": f"sim_{band}", "band": band},
                    update=update,
                )

    def getRawFormatter(self, dataId: Any) -> Any:
        raise NotImplementedError("RBSimCam has no raw data.")


def detector_full_name(detector: int) -> str:
    """Full name of a detector, ``R<raft>_S<row><col>`` with nine sensors per raft."""
    raft, sensor = divmod(detector, 9)
    return f"R{raft:02d}_S{sensor // 3}{sensor % 3}"
