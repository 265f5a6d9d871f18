"""What each progress metric means, in the words of ``docs/clinical-metrics.md``: a label, its
unit, which way is better, and one plain sentence for the patient and the prosthetist. The PDF
reports print it and the history pages show it (``GET /api/metric-guide``).

Each metric also says which exercises it belongs to (``exercises``): the progress charts, the
progress PDF and the session report take it only from trials of those exercises, one line per
exercise (the reasons are in ``docs/clinical-metrics.md``, "Which exercise each progress metric
comes from"). :data:`BELONGS` is that mapping; the database layer is handed it (``db`` does not
import ``rig``)."""

from __future__ import annotations

from dataclasses import dataclass

from gaitrig.rig.model import Exercise

Q, WS, W, PWB, STS = (Exercise.QUIET_STANDING, Exercise.WEIGHT_SHIFT, Exercise.WALKING,
                      Exercise.PARTIAL_WEIGHT_BEARING, Exercise.SIT_TO_STAND)

#: How the charts and reports name each exercise.
EXERCISE_LABELS: dict[str, str] = {Q: "quiet standing", WS: "weight shift", W: "walking",
                                   PWB: "partial weight bearing", STS: "sit to stand"}


@dataclass(frozen=True, slots=True)
class MetricGuide:
    key: str  # the metric's name in the records (ProgressSeries.metric; MetricsOut field)
    label: str
    unit: str
    explanation: str
    better: str  # "higher", "lower", "closer to 50", "closer to 0"
    digits: int = 1  # decimals worth showing
    # The exercises whose trials give this metric, one chart line each; empty: the session's
    # own value (pain in its notes), one line.
    exercises: tuple[Exercise, ...] = ()


GUIDE = (
    MetricGuide("prosthetic_load_share_pct", "Prosthetic-side load share", "%",
                "Of the weight both feet carry, the part that goes through the prosthesis. "
                "50 is even; 40 means the prosthesis takes 40 % and the sound leg 60 %. "
                "Standing: the mean share over the trial; walking: the share of the steps' "
                "peak loads.", "closer to 50", exercises=(W, Q)),
    MetricGuide("stance_time_symmetry_index_pct", "Stance-time symmetry", "%",
                "How long the prosthetic foot stays on the ground compared with the sound foot. "
                "0 is even; negative means less time on the prosthesis.", "closer to 0",
                exercises=(W, PWB)),
    MetricGuide("bar_reliance_mean_pct_bw", "Bar reliance", "% BW",
                "How much of their body weight the patient puts through their hands on the "
                "bars, on average. Less means they trust their legs more.", "lower",
                exercises=(W, PWB, Q, WS, STS)),
    MetricGuide("cadence_steps_per_min", "Cadence", "steps/min",
                "How many steps per minute while walking.", "higher", exercises=(W, PWB)),
    MetricGuide("sway_area_95_mm2", "Sway area (95 %)", "mm²",
                "While standing: the area expected to hold 95 % of the centre of pressure's "
                "sway. Smaller means steadier.", "lower", exercises=(Q,)),
    MetricGuide("pwb_steps_on_target_pct", "Partial weight bearing: steps on target", "%",
                "Of the steps on the prosthesis in partial weight bearing, the part whose peak "
                "load landed in the therapist's target band. More means the patient keeps to "
                "the prescribed load.", "higher", digits=0, exercises=(PWB,)),
    MetricGuide("pain_score_max", "Pain (highest reported)", "0-10",
                "The highest pain or discomfort score the patient reported in the session "
                "(0 none, 10 worst imaginable).", "lower", digits=0),
)

BY_KEY = {guide.key: guide for guide in GUIDE}
#: Each trial metric -> the exercises it is taken from (the session's own values left out).
BELONGS: dict[str, tuple[str, ...]] = {
    guide.key: tuple(str(e) for e in guide.exercises) for guide in GUIDE if guide.exercises}


def belongs(key: str, exercise: str) -> bool:
    """Does the metric ``key`` come from trials of ``exercise``?"""
    return exercise in BELONGS.get(key, ())
