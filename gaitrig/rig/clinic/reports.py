"""Printable PDF reports for the prosthetist: one per session (its trials, their metrics, the load
under each foot over time, the notes) and one per patient (progress across sessions). Each
metric comes with its plain-language explanation (:mod:`gaitrig.rig.clinic.metric_guide`).

Laid out with ReportLab; charts drawn with matplotlib's Figure (no pyplot, no display) as PNG
images. ReportLab reads a Paragraph's text as markup (bold, images, links): everything in a
report that is not ours (names, notes, footwear, components, the rig's name) goes in escaped
(:func:`_plain`), so a note such as ``see <b>bold`` or ``<img src="/etc/...">`` prints as typed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gaitrig.db.progress import STEPS_ON_TARGET, steps_on_target_pct
from gaitrig.processing.compliance import fading_text
from gaitrig.rig.clinic.exercise_results import exercise_results
from gaitrig.rig.clinic.history import (
    ClinicHistory,
    NoteOut,
    PatientOut,
    ProgressSeries,
    TrialSummary,
)
from gaitrig.rig.clinic.load_curves import LoadCurves
from gaitrig.rig.clinic.metric_guide import BY_KEY, EXERCISE_LABELS, GUIDE, belongs

STYLES = getSampleStyleSheet()
TRIAL_METRICS = [guide for guide in GUIDE if guide.key != "pain_score_max"]
#: The exercises whose trials have steps (a step count is shown for these only).
STEPPING = ("walking", "partial_weight_bearing")
#: Most trials whose load curves a session report draws.
CURVE_TRIALS = 4


def _number(value: float | int | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _when(moment: datetime | None) -> str:
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _png(figure: Figure, width_mm: float) -> Image:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    buffer.seek(0)
    image = Image(buffer)
    scale = width_mm * mm / image.drawWidth
    image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
    return image


def _table(rows: list[list[str]], widths: Sequence[float] | None = None) -> Table:
    table = Table(rows, colWidths=None if widths is None else [w * mm for w in widths],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ee")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _plain(text: object) -> str:
    """``text`` as ReportLab Paragraph markup that shows exactly it (``<``, ``>``, ``&``)."""
    return escape(str(text))


def _patient_lines(patient: PatientOut) -> list[Flowable]:
    side = patient.amputation_side or "–"
    level = (patient.amputation_level or "–").replace("_", " ")
    born = "–" if patient.date_of_birth is None else patient.date_of_birth.isoformat()
    return [Paragraph(f"<b>Patient:</b> {_plain(patient.name)} ({_plain(patient.identifier)}), "
                      f"born {born}; amputation: {_plain(side)}, {_plain(level)}",
                      STYLES["Normal"])]


def _guide() -> list[Flowable]:
    parts: list[Flowable] = [Paragraph("What the numbers mean", STYLES["Heading2"])]
    for guide in GUIDE:
        parts.append(Paragraph(f"<b>{guide.label}</b> ({guide.unit}, {guide.better} is "
                               f"better): {guide.explanation}", STYLES["Normal"]))
    return parts


def _notes(notes: Sequence[NoteOut]) -> list[Flowable]:
    parts: list[Flowable] = [Paragraph("Notes and comfort", STYLES["Heading2"])]
    if not notes:
        return [*parts, Paragraph("No notes.", STYLES["Normal"])]
    rows = [["When", "By", "Pain (0-10)", "Where", "Note"]]
    for note in notes:
        rows.append([_when(note.created_at), note.author_role,
                     "–" if note.pain_score is None else str(note.pain_score),
                     note.pain_location or "",
                     Paragraph(_plain(note.text or ""), STYLES["BodyText"])])
    return [*parts, _table(rows, [32, 20, 18, 28, 72])]


def trial_value(trial: TrialSummary, key: str) -> float | None:
    """The trial's value of the progress metric ``key``; None when the metric does not belong
    to the trial's exercise (a sit-to-stand's cadence is not shown) or was not measured."""
    metric = trial.metrics
    if metric is None or not belongs(key, trial.exercise):
        return None
    if key == STEPS_ON_TARGET:
        walking = metric.summary.get("walking") or {}
        return steps_on_target_pct(walking.get("prosthetic_steps_in_band"),
                                   (walking.get("prosthetic") or {}).get("steps"))
    value = getattr(metric, key)
    return None if value is None else float(value)


def _trial_rows(trials: Sequence[TrialSummary]) -> list[list[str]]:
    rows = [["Trial", "Exercise", "Footwear", "Steps",
             *[f"{g.label} ({g.unit})" for g in TRIAL_METRICS],
             "Step feedback (steps in band with / without)"]]
    for trial in trials:
        metric = trial.metrics
        rows.append([str(trial.id), EXERCISE_LABELS.get(trial.exercise, trial.exercise),
                     Paragraph(_plain(trial.footwear or "not recorded"), STYLES["BodyText"]),
                     "–" if metric is None or trial.exercise not in STEPPING
                     else str(metric.step_count),
                     *[_number(trial_value(trial, g.key), g.digits) for g in TRIAL_METRICS],
                     Paragraph(fading_text(None if metric is None else metric.summary),
                               STYLES["BodyText"])])
    return rows


def _curve_chart(curves: LoadCurves, title: str) -> Image:
    figure = Figure(figsize=(7, 2.2))
    axes = figure.subplots()
    for name, colour in (("left_foot_pct_bw", "#1f77b4"), ("right_foot_pct_bw", "#d62728"),
                         ("left_bar_pct_bw", "#7f7f7f")):
        if name in curves.series:
            values = [float("nan") if v is None else v for v in curves.series[name]]
            axes.plot(curves.time_s, values, color=colour, linewidth=0.8,
                      label=name.removesuffix("_pct_bw").replace("_", " "))
    axes.set_xlabel("time (s)")
    axes.set_ylabel("load (% BW)")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="upper right")
    axes.grid(alpha=0.3)
    return _png(figure, 170)


def _ellipse_chart(results: dict[str, Any], title: str) -> Image | None:
    """The quiet-standing CoP trace with its 95 % prediction ellipse (mm, ML x AP)."""
    ellipse, trace = results.get("ellipse"), results.get("trace")
    if not ellipse:
        return None
    figure = Figure(figsize=(3.6, 3.6))
    axes = figure.subplots()
    if trace:
        axes.plot(trace["x_mm"], trace["y_mm"], color="#7f7f7f", linewidth=0.5,
                  label="CoP")
    (cx, cy), (major, minor) = ellipse["centre_mm"], ellipse["semi_axes_mm"]
    angle = np.radians(ellipse["angle_deg"])
    t = np.linspace(0.0, 2.0 * np.pi, 200)
    x = cx + major * np.cos(t) * np.cos(angle) - minor * np.sin(t) * np.sin(angle)
    y = cy + major * np.cos(t) * np.sin(angle) + minor * np.sin(t) * np.cos(angle)
    axes.plot(x, y, color="#15803d", linewidth=1.2, label="95 % prediction ellipse")
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel("ML (mm)")
    axes.set_ylabel("AP (mm)")
    axes.set_title(title, fontsize=8)
    axes.legend(fontsize=6, loc="upper right")
    axes.grid(alpha=0.3)
    return _png(figure, 80)


def _results(trials: Sequence[TrialSummary]) -> list[Flowable]:
    """Each trial's own figures (by exercise), and the sway plot of a quiet standing."""
    parts: list[Flowable] = [Paragraph("Results per exercise", STYLES["Heading2"])]
    for trial in trials:
        exercise = EXERCISE_LABELS.get(trial.exercise, trial.exercise)
        results = exercise_results(trial.exercise,
                                   None if trial.metrics is None else trial.metrics.summary)
        parts.append(Paragraph(f"<b>Trial {trial.id}: {exercise}</b>", STYLES["Normal"]))
        if trial.metrics is None:
            parts.append(Paragraph("Not analysed.", STYLES["Normal"]))
            continue
        rows: list[list[Any]] = [["Figure", "Value", "How"]]
        rows += [[f["label"], f["text"], Paragraph(f["note"], STYLES["BodyText"])]
                 for f in results["figures"]]
        parts.append(_table(rows, [62, 30, 88]))
        chart = _ellipse_chart(results, f"Trial {trial.id}: sway and its 95 % ellipse")
        if chart is not None:
            parts.append(chart)
        parts.append(Spacer(1, 2 * mm))
    return parts


def _wrap_headers(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[Paragraph(cell, STYLES["BodyText"]) for cell in rows[0]], *map(list, rows[1:])]


def _build(story: list[Flowable], title: str) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="gaitrig",
                                 leftMargin=15 * mm, rightMargin=15 * mm,
                                 topMargin=15 * mm, bottomMargin=15 * mm)
    document.build(story)
    return buffer.getvalue()


def session_report(history: ClinicHistory, session_id: int) -> bytes:
    """The session's PDF: patient, trials with metrics, load curves, notes, explanations."""
    detail = history.session_detail(session_id)
    title = f"Gait training session {_when(detail.session.started_at)}"
    clinician = "–" if detail.clinician is None else _plain(detail.clinician.name)
    story: list[Flowable] = [
        Paragraph(title, STYLES["Title"]), *_patient_lines(detail.patient),
        Paragraph(f"<b>Therapist:</b> {clinician}; <b>rig:</b> {_plain(detail.session.rig_id)}; "
                  f"<b>ended:</b> {_when(detail.session.ended_at)}", STYLES["Normal"]),
        Paragraph(_plain(detail.session.notes or ""), STYLES["Normal"]),
        Paragraph("Trials", STYLES["Heading2"]),
        _table(_wrap_headers(_trial_rows(detail.trials))),
        Spacer(1, 4 * mm),
        *_results(detail.trials),
    ]
    drawn = 0
    for trial in detail.trials:
        if drawn == CURVE_TRIALS:  # the rest are not drawn: do not load their results
            break
        curves = history.trial_curves(trial.id, max_points=1500)
        if curves.time_s:
            footwear = f", {trial.footwear}" if trial.footwear else ""
            story.append(_curve_chart(curves, f"Trial {trial.id}: {trial.exercise}{footwear}"))
            drawn += 1
    story += _notes(detail.notes) + _guide()
    return _build(story, title)


def _series_label(series: ProgressSeries) -> str:
    return "sessions" if series.exercise is None else EXERCISE_LABELS.get(series.exercise,
                                                                           series.exercise)


#: Line colours of the exercises on the progress charts (the patient page uses the same).
EXERCISE_COLOURS = {"walking": "#0b6bcb", "partial_weight_bearing": "#c2410c",
                    "quiet_standing": "#15803d", "weight_shift": "#7e22ce",
                    "sit_to_stand": "#a16207"}


def _progress_chart(all_series: Sequence[ProgressSeries]) -> Image:
    """A small chart per metric of the guide, one line per exercise it was measured in."""
    rows = (len(GUIDE) + 2) // 3
    figure = Figure(figsize=(8, 2.2 * rows))
    grid = figure.subplots(rows, 3)
    for axes in grid.flat[len(GUIDE):]:
        axes.set_visible(False)
    for axes, guide in zip(grid.flat, GUIDE, strict=False):
        lines = [s for s in all_series if s.metric == guide.key and s.points]
        for series in lines:
            axes.plot([p.started_at for p in series.points], [p.value for p in series.points],
                      marker="o", markersize=3,
                      color=EXERCISE_COLOURS.get(series.exercise or "", "#2a6f97"),
                      label=_series_label(series))
        if not lines:
            axes.text(0.5, 0.5, "no measurements", ha="center", va="center",
                      transform=axes.transAxes, fontsize=8, color="grey")
            axes.set_xticks([])
            axes.set_yticks([])
        elif len(lines) > 1:
            axes.legend(fontsize=5, loc="best")
        axes.set_title(f"{guide.label} ({guide.unit})", fontsize=7)
        axes.tick_params(labelsize=6)
        axes.grid(alpha=0.3)
        for label in axes.get_xticklabels():
            label.set_rotation(30)
    figure.tight_layout()
    return _png(figure, 180)


def _series_rows(all_series: Sequence[ProgressSeries]) -> list[list[Any]]:
    """One row per line of the charts: the metric, the exercise it comes from, each session's
    value, and the change from the first session to the latest."""
    rows: list[list[Any]] = [["Metric", "From", "Sessions", "Per session (date: value)",
                              "Change"]]
    for series in all_series:
        if not series.points:
            continue
        guide = BY_KEY[series.metric]
        values = "; ".join(f"{p.started_at:%Y-%m-%d}: {_number(p.value, guide.digits)}"
                           for p in series.points)
        change = series.points[-1].value - series.points[0].value
        rows.append([Paragraph(f"{guide.label} ({guide.unit})", STYLES["BodyText"]),
                     _series_label(series), str(len(series.points)),
                     Paragraph(values, STYLES["BodyText"]),
                     f"{change:+.{guide.digits}f}" if len(series.points) > 1 else "–"])
    return rows


def patient_report(history: ClinicHistory, patient_id: int) -> bytes:
    """The patient's PDF: details, prosthesis, progress charts and table, notes, explanations."""
    detail = history.patient_detail(patient_id)
    patient = detail.patient
    title = f"Gait training progress: {patient.name}"
    components = [c for c in detail.components if c.removed_on is None]
    story: list[Flowable] = [
        Paragraph(_plain(title), STYLES["Title"]), *_patient_lines(patient),
        Paragraph(f"<b>Body mass:</b> {_number(detail.current_body_mass_kg)} kg; "
                  f"<b>sessions:</b> {len(detail.sessions)}", STYLES["Normal"]),
        Paragraph("<b>Prosthesis:</b> " + ("; ".join(
            f"{_plain(c.kind)} {_plain(c.description)} (since {c.fitted_on})"
            for c in components) or "–"),
            STYLES["Normal"]),
        Paragraph("Progress across sessions", STYLES["Heading2"]),
    ]
    if detail.progress:
        story.append(_progress_chart(detail.progress_series))
    story += [Paragraph("Each metric is taken only from the exercises it belongs to, one line "
                        "per exercise: a session's point is the mean of its trials of that "
                        "exercise.", STYLES["Normal"]),
              _table(_wrap_headers(_series_rows(detail.progress_series)),
                     [44, 30, 16, 74, 16]),
              Spacer(1, 4 * mm)]
    rows = [["Session", "Trials", "Pain, highest (0-10)"]]
    for point in detail.progress:
        rows.append([point.started_at.strftime("%Y-%m-%d"), str(point.trials),
                     _number(point.pain_score_max, 0)])
    story += [_table(rows), *_notes(detail.notes[:30]), *_guide()]
    return _build(story, title)
