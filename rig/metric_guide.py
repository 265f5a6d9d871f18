"""What each progress metric means, in the words of ``docs/clinical-metrics.md``: a label, its
unit, which way is better, and one plain sentence for the patient and the prosthetist. The PDF
reports print it and the history pages show it (``GET /api/metric-guide``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricGuide:
    key: str  # the metric's field name in the records (ProgressPoint, MetricsOut)
    label: str
    unit: str
    explanation: str
    better: str  # "higher", "lower", "closer to 50", "closer to 0"
    digits: int = 1  # decimals worth showing


GUIDE = (
    MetricGuide("prosthetic_load_share_pct", "Prosthetic-side load share", "%",
                "Of the weight both feet carry, the part that goes through the prosthesis. "
                "50 is even; 40 means the prosthesis takes 40 % and the sound leg 60 %.",
                "closer to 50"),
    MetricGuide("stance_time_symmetry_index_pct", "Stance-time symmetry", "%",
                "How long the prosthetic foot stays on the ground compared with the sound foot. "
                "0 is even; negative means less time on the prosthesis.", "closer to 0"),
    MetricGuide("bar_reliance_mean_pct_bw", "Bar reliance", "% BW",
                "How much of their body weight the patient puts through their hands on the "
                "bars, on average. Less means they trust their legs more.", "lower"),
    MetricGuide("cadence_steps_per_min", "Cadence", "steps/min",
                "How many steps per minute while walking.", "higher"),
    MetricGuide("sway_area_95_mm2", "Sway area (95 %)", "mm²",
                "While standing: the area expected to hold 95 % of the centre of pressure's "
                "sway. Smaller means steadier.", "lower"),
    MetricGuide("pain_score_max", "Pain (highest reported)", "0-10",
                "The highest pain or discomfort score the patient reported in the session "
                "(0 none, 10 worst imaginable).", "lower", digits=0),
)

BY_KEY = {guide.key: guide for guide in GUIDE}
