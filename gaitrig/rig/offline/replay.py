"""``rig replay TRIAL``: a stored trial through the same analysis again, compared with what is
stored (every metric column, the summary and every step, for exact equality)."""

from __future__ import annotations

from dataclasses import dataclass

from gaitrig.rig.offline.trial_analysis import TrialAnalysis, analyse_stored, differences
from gaitrig.rig.records import Records


@dataclass(frozen=True)
class ReplayReport:
    trial_id: int
    analysis: TrialAnalysis
    differences: list[str]  # empty: the replay reproduced every stored metric

    @property
    def identical(self) -> bool:
        return not self.differences

    def text(self) -> str:
        metric = self.analysis.metric
        lines = [f"trial {self.trial_id}: {metric['summary']['rows']} rows at "
                 f"{metric['summary']['sample_rate_hz']:g} Hz ({metric['duration_s']:.2f} s), "
                 f"{metric['step_count']} steps"]
        for column in ("prosthetic_load_share_pct", "stance_time_symmetry_index_pct",
                       "bar_reliance_mean_pct_bw", "cadence_steps_per_min", "sway_area_95_mm2"):
            value = metric[column]
            lines.append(f"  {column}: {'-' if value is None else f'{value:.6g}'}")
        if self.identical:
            lines.append(f"identical to the stored metrics ({len(self.analysis.steps)} steps "
                         "compared)")
        else:
            lines.append(f"{len(self.differences)} differences from the stored metrics:")
            lines.extend(f"  {d}" for d in self.differences)
        return "\n".join(lines)


def replay_trial(records: Records, trial_id: int) -> ReplayReport:
    """Reprocess trial ``trial_id`` from its stored frames and setup; compare with the store.

    Raises LookupError for an unknown trial, ValueError for one that cannot be reprocessed."""
    with records.sessions() as session:
        analysis = analyse_stored(session, trial_id)
        return ReplayReport(trial_id, analysis, differences(session, trial_id, analysis))
