"""What a trial needs to be reprocessed exactly, as plain JSON-ready data (stored with it).

``trials.setup`` holds :meth:`TrialSetup.to_dict`; ``trials.calibration`` the calibration dicts
(:meth:`gaitrig.processing.calibration.RigCalibration.to_dicts`); ``trials.targets`` the therapist's
targets (% body weight). Layouts are stored whole (sensor positions in mm), so a later change
of the packaged layout files does not change an old trial's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gaitrig.processing.layouts import BarLayout, InsoleLayout, RigLayout

#: Feet side by side this far apart (heel centres, mm) for the standing-balance CoP.
STANCE_WIDTH_MM = 200.0


def insole_to_dict(layout: InsoleLayout) -> dict[str, Any]:
    return {"side": layout.side, "size_eu": layout.size_eu,
            "positions_mm": layout.positions_mm.tolist(), "names": list(layout.names),
            "regions": list(layout.regions), "outline_mm": layout.outline_mm.tolist()}


def insole_from_dict(data: dict[str, Any]) -> InsoleLayout:
    def frozen(values: Any) -> np.ndarray:
        array = np.array(values, dtype=np.float64)
        array.flags.writeable = False
        return array

    return InsoleLayout(side=data["side"], size_eu=int(data["size_eu"]),
                        positions_mm=frozen(data["positions_mm"]), names=tuple(data["names"]),
                        regions=tuple(data["regions"]), outline_mm=frozen(data["outline_mm"]))


def layout_to_dict(layout: RigLayout) -> dict[str, Any]:
    bars = layout.bars
    return {"left": insole_to_dict(layout.left), "right": insole_to_dict(layout.right),
            "bars": {"bar_length_mm": bars.bar_length_mm, "rear_post_mm": bars.rear_post_mm,
                     "front_post_mm": bars.front_post_mm,
                     "bar_separation_mm": bars.bar_separation_mm}}


def layout_from_dict(data: dict[str, Any]) -> RigLayout:
    return RigLayout(left=insole_from_dict(data["left"]), right=insole_from_dict(data["right"]),
                     bars=BarLayout(**data["bars"]))


@dataclass(frozen=True)
class TrialSetup:
    """The patient and rig as a trial was recorded: body mass (kg), prosthetic side, rates (Hz)
    per board role, the counts each board reads unloaded (held until its first frame), the
    layout, and the standing placement of the feet (mm)."""

    body_mass_kg: float
    prosthetic_side: str
    insole_sensors: int
    shoe_size_eu: int
    rates_hz: dict[str, float]
    idle_counts: dict[str, list[int]]
    layout: RigLayout
    stance_width_mm: float = STANCE_WIDTH_MM
    #: The trial's pauses, (from, to) on the host monotonic clock (s) of the frames' sample
    #: times: stored at the stop (the recorder records no frame while a trial is paused).
    pauses_s: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"body_mass_kg": self.body_mass_kg, "prosthetic_side": self.prosthetic_side,
                "insole_sensors": self.insole_sensors, "shoe_size_eu": self.shoe_size_eu,
                "insole_rate_hz": self.rates_hz.get("insole_left"),
                "rates_hz": dict(self.rates_hz),
                "idle_counts": {k: list(v) for k, v in self.idle_counts.items()},
                "layout": layout_to_dict(self.layout), "stance_width_mm": self.stance_width_mm,
                **({"pauses_s": [list(p) for p in self.pauses_s]} if self.pauses_s else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialSetup:
        missing = {"body_mass_kg", "prosthetic_side", "rates_hz", "idle_counts",
                   "layout"} - set(data)
        if missing:
            raise ValueError(f"the trial's stored setup lacks {sorted(missing)}: it cannot be "
                             "reprocessed")
        return cls(body_mass_kg=float(data["body_mass_kg"]),
                   prosthetic_side=str(data["prosthetic_side"]),
                   insole_sensors=int(data.get("insole_sensors", 8)),
                   shoe_size_eu=int(data.get("shoe_size_eu", 42)),
                   rates_hz={k: float(v) for k, v in data["rates_hz"].items()},
                   idle_counts={k: [int(c) for c in v] for k, v in data["idle_counts"].items()},
                   layout=layout_from_dict(data["layout"]),
                   stance_width_mm=float(data.get("stance_width_mm", STANCE_WIDTH_MM)),
                   pauses_s=tuple((float(a), float(b)) for a, b in data.get("pauses_s", ())))
