"""The virtual rig: a simulated patient, sensor physics and boards that speak the wire protocol.

Everything works with no hardware attached: the boards open real pseudo-terminals and write exactly
the bytes the firmware writes, and the patient model knows the ground truth behind every count.
"""

from gaitrig.sim.boards import VirtualBarsBoard, VirtualBoard, VirtualInsoleBoard
from gaitrig.sim.patient import (
    GaitEvent,
    GaitParameters,
    GroundTruth,
    PatientModel,
    Repetition,
    SitToStandParameters,
    StepPeak,
    TargetResponse,
    generic_insole_positions_mm,
)
from gaitrig.sim.rig import VirtualRig
from gaitrig.sim.sensors import FsrChannels, FsrParameters, LoadCellChannels, LoadCellParameters

__all__ = [
    "FsrChannels",
    "FsrParameters",
    "GaitEvent",
    "GaitParameters",
    "GroundTruth",
    "LoadCellChannels",
    "LoadCellParameters",
    "PatientModel",
    "Repetition",
    "SitToStandParameters",
    "StepPeak",
    "TargetResponse",
    "VirtualBarsBoard",
    "VirtualBoard",
    "VirtualInsoleBoard",
    "VirtualRig",
    "generic_insole_positions_mm",
]
