"""The rig controller: owns the boards and the processing loop, and publishes the live state.

Boards are serial links (real boards, or the virtual rig's pseudo-terminals: the same code path).
One processing thread, when the next live update is due, polls every board for what has arrived
(``BoardLink.poll``: its DATA frames go into a :class:`FrameCollector`), takes that as a block,
runs the numba pipeline over it, applies the therapist's targets (bands,
safety limit, hand support), counts steps, and hands the newest state, encoded as JSON once, to
``publish`` (the web hub): at most ``live_update_hz`` times per second, and at once when an alarm
starts or ends.

The controls (patient, targets, exercise, trial, tare, calibration) are called from the web
server's threads; they take ``_lock``, which the processing loop holds while it works on a block.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from gaitrig.drivers import protocol as p
from gaitrig.drivers.serial_link import BoardLink, readable
from gaitrig.processing import calibration_procedures as procedures
from gaitrig.processing import pipeline
from gaitrig.processing.calibration import FsrCalibration, LinearCalibration, RigCalibration
from gaitrig.processing.calibration_procedures import CalibrationResult, PhaseCheck
from gaitrig.processing.layouts import load_bar_layout, load_insole_layout
from gaitrig.processing.timeline import ROLES, MergedBlock
from gaitrig.rig.clinic.visits import SessionOut, Visits
from gaitrig.rig.live import rig_state as stored
from gaitrig.rig.live.alarms import TargetMonitor
from gaitrig.rig.live.board_calibrations import BoardCalibrationKeeper, BoardCalibrations
from gaitrig.rig.live.board_source import BoardSource, SerialBoards
from gaitrig.rig.live.live_message import (
    Feedback,
    LoadSnapshot,
    RigView,
    live_message,
)
from gaitrig.rig.live.milestones import MilestoneTracker
from gaitrig.rig.live.timeline import STALE_AFTER_S, FrameCollector
from gaitrig.rig.live.trial import LiveTrial, TrialStateError
from gaitrig.rig.model import Exercise, PatientOnRig, Targets
from gaitrig.rig.recording.interrupted_trials import recover_interrupted
from gaitrig.rig.recording.recorder import TrialRecorder
from gaitrig.rig.recording.spool import recover_spooled
from gaitrig.rig.recording.trial_rows import board_devices, setup_fields
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings

__all__ = ["CalibrationResult", "RigController"]

log = logging.getLogger(__name__)

#: A board that has sent nothing for this long is shown as silent (s).
SILENT_AFTER_S = 0.5
#: Each board's values in the live message (``<source>_unavailable``, docs/live-protocol.md),
#: and what the screens call it when it is stale (``gaitrig.rig.live.timeline.STALE_AFTER_S``).
BOARD_SOURCES = {"insole_left": ("left_foot", "the left insole"),
                 "insole_right": ("right_foot", "the right insole"),
                 "bars": ("bars", "the bars board")}
#: Even with no data, the state (device status) is republished this often (s).
IDLE_PUBLISH_S = 0.1
#: At each live update, how long to wait for each insole's next USB packet after taking what had
#: arrived (s): a packet comes every 1-2 ms, so the update then shows samples a fraction of a
#: millisecond old instead of up to a packet interval (docs/benchmarks.md).
FRESH_WAIT_S = 0.0025
#: How much of the recent signal is kept for tare and calibration (s).
RECENT_S = 3.0
STANDING_PHASES = ("both", "left", "right")


def footwear_from_state(value: Any) -> str | None:
    """The stored footwear: text of at most 200 characters, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError(f"footwear {value!r} is not a short text")
    return value.strip()


class BlockSchedule:
    """When the processing loop takes its next block: one per live update, due on a fixed grid
    of ``interval_s`` (s), taken just before the update is sent; then it waits at most
    :data:`FRESH_WAIT_S` for each insole's next packet (``fresh``), and each block's update is
    published (the grid already keeps the rate). docs/benchmarks.md, "A block per live update";
    the benchmarks measure the schedules it replaced (``benchmarks/block_schedules.py``)."""

    fresh = True
    every_block_published = True

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.due_s = 0.0

    def wait(self, now_s: float, wake: threading.Event, links: list[BoardLink]) -> None:
        """Until the next block is due; a control changing (``wake``) ends the wait, so that it
        is shown at once."""
        if now_s >= self.due_s:  # the update that was due is made: the next one is due
            self.due_s = max(self.due_s + self.interval_s, now_s - self.interval_s)
        if self.due_s > now_s:
            wake.wait(self.due_s - now_s)


class RigController:
    """Boards in, live state out. ``start()`` connects and begins; ``stop()`` ends everything."""

    def __init__(self, settings: Settings, publish: Callable[[str, bool], None] | None = None,
                 records: Records | None = None, source: BoardSource | None = None) -> None:
        """``source``: where the boards come from (``gaitrig.cli.sources.board_source`` chooses
        it from the settings); None: the serial ports of ``settings``."""
        if source is None and settings.simulate:
            raise ValueError("simulate=True needs the virtual rig as the board source "
                             "(gaitrig.cli.sources.board_source(settings))")
        self.settings = settings
        self.source: BoardSource = source or SerialBoards(
            list(settings.serial_ports) if settings.devices else [], settings.insole_sensors)
        self.publish = publish
        self.records = records
        # This start of the server (random): a console that sees it change knows the server
        # restarted; the trials a killed server left open, closed at this start.
        self.server_instance = secrets.token_hex(8)
        self.started_at = datetime.now(UTC)
        self.interrupted_trial_ids: list[int] = []
        # +1 whenever a control changes what the consoles show (patient, exercise, targets,
        # feedback, trial, marks): every open console re-reads the rig when it changes.
        self.controls_version = 0
        # What the therapist set, stored on each change and restored at start
        # (gaitrig.rig.live.rig_state); keys of the stored state this server does not know, kept as
        # they were.
        self.state_writer = (stored.RigStateWriter(records, settings.rig_id, self.persisted_state)
                             if records is not None and settings.devices else None)
        self._carried_state: dict[str, Any] = {}
        # The clinic session of the patient's visit (gaitrig.rig.clinic.visits), and the shoes
        # confirmed for this patient's trials (``footwear_last``: what they wore last time, from the
        # records).
        self.visits = (Visits(records, settings.rig_id, settings.session_idle_end_s)
                       if records is not None and settings.devices else None)
        self.visit: SessionOut | None = None
        self.footwear: str | None = None
        self.footwear_last: str | None = None
        # The insole calibration's posture asked of the patient now (both/left/right), or None.
        self.calibration_phase: str | None = None
        self.patient = PatientOnRig(settings.display_name, settings.body_mass_kg,
                                    settings.prosthetic_side)
        self.layout = pipeline.RigLayout(
            left=load_insole_layout(settings.insole_sensors, settings.shoe_size_eu, "left"),
            right=load_insole_layout(settings.insole_sensors, settings.shoe_size_eu, "right"),
            bars=load_bar_layout(),
        )
        self.monitor = TargetMonitor(
            settings.prosthetic_side, Exercise.WALKING,
            Targets(settings.target_low_pct_bw, settings.target_high_pct_bw),
            debounce_s=settings.alarm_debounce_s, hold_s=settings.alarm_hold_s)
        self.feedback = Feedback()
        self.trial: LiveTrial | None = None
        self.last_summary: dict[str, Any] | None = None
        self.recording: TrialRecorder | None = None  # the running trial's recorder
        self.last_recording: TrialRecorder | None = None
        self.unfinished_recordings: list[TrialRecorder] = []  # stopped, still being written
        self.links: list[BoardLink] = []
        self.calibration: RigCalibration | None = None
        self.processor: pipeline.BlockProcessor | None = None
        self.collector: FrameCollector | None = None
        self.latest: dict[str, Any] | None = None
        self.latest_json = ""
        self.standing_phases: dict[str, procedures.StandingPhase] = {}
        self._recent: deque[MergedBlock] = deque()
        self._milestone: dict[str, Any] | None = None
        self.milestones = MilestoneTracker()
        self._best_streaks: dict[str, int] = {}  # per patient, since the server started
        self._known_roles: dict[str, str] = {}  # port -> the role its board said it has
        self._lost_since: dict[str, float] = {}  # port -> when (host monotonic s) it was lost
        self._seq = 0
        self._lock = threading.RLock()
        # Each board's calibration kept per serial number, loaded when it connects
        # (gaitrig.rig.live.board_calibrations); ``nominal`` is the datasheet calibration of a board
        # with none.
        self.nominal_calibration: RigCalibration | None = None
        self.board_calibrations = BoardCalibrationKeeper(
            None if records is None else BoardCalibrations(records, settings.rig_id),
            self._lock, self._use_board_calibration)
        self._publish_now = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def virtual_rig(self) -> Any:
        """The simulator behind the boards (ground truth for tests and the demo routes), or None
        on a real rig."""
        return self.source.virtual_rig

    def start(self) -> None:
        pipeline.warm_up()
        if self.records is not None:  # what a stop with the database away left in the spool
            recover_spooled(self.records, self.spool_folder)
            if self.settings.devices:  # a history server records nothing: no trial is its own
                # a killed server's trial
                self.interrupted_trial_ids = recover_interrupted(self.records, self.settings.rig_id)
        if self.state_writer is not None:  # what the therapist had set before the restart
            saved = self.state_writer.load()
            if saved is not None:
                self.restore_state(saved)
        if self.visits is not None:
            self.visits.watch()
        ports = self.source.start(self.layout) if self.settings.devices else []
        calibration_dicts = self.source.nominal_calibration()
        self.nominal_calibration = RigCalibration.from_dicts(calibration_dicts)
        self._use_calibration(self.nominal_calibration)
        self.collector = FrameCollector(
            channels={role: len(calibration_dicts[role]) for role in ROLES},
            idle_counts={role: idle_counts(calibration_dicts[role]) for role in ROLES},
        )
        rates = {p.BoardRole.INSOLE_LEFT: self.settings.insole_rate_hz,
                 p.BoardRole.INSOLE_RIGHT: self.settings.insole_rate_hz}
        for port in ports:
            link = BoardLink(port, name=port, sample_rates_hz=rates)
            link.start()
            self.links.append(link)
        self._thread = threading.Thread(target=self._loop, name="processing", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self.trial is not None and self.trial.state != "stopped":
                self.stop_trial()
        if not self.wait_for_recording():
            for recorder in self.unfinished_recordings:
                recorder.abandon(self.spool_folder)  # kept on disk, written at the next start
        self._stopping.set()
        self.board_calibrations.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for link in self.links:
            link.close()
        self.source.stop()
        if self.state_writer is not None:
            self.state_writer.close()
        if self.visits is not None:
            self.visits.close()

    def wait_until_streaming(self, timeout_s: float = 10.0) -> bool:
        """True once every board is connected and the state carries processed loads."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.latest
            if state is not None and "left_foot_n" in state and all(
                    link.connected for link in self.links):
                return True
            time.sleep(0.02)
        return False

    # -- controls (from the web server's threads) ----------------------------------------------

    def set_patient(self, patient: PatientOnRig, clinician_id: int | None = None) -> None:
        """The patient now on the rig: body mass scales every % BW, the side places the band.
        A patient from the records opens (or resumes) the session of today's visit, with the
        confirming clinician; any other ends the rig's open session."""
        with self._lock:
            if self.trial is not None and self.trial.state != "stopped":
                raise TrialStateError("stop the trial before changing the patient")
            same_patient = patient.patient_id is not None and \
                patient.patient_id == self.patient.patient_id
            self._open_visit(patient.patient_id, clinician_id)  # an unknown record: refused
            if not same_patient:
                self.footwear = None  # each patient's shoes are confirmed for them
            self.patient = patient
            self.monitor = TargetMonitor(patient.prosthetic_side, self.monitor.exercise,
                                         self.monitor.targets, debounce_s=self.monitor.debounce_s,
                                         hold_s=self.monitor.hold_s)
            if self.calibration is not None:
                self._use_calibration(self.calibration)
        self._controls_changed(save=True)

    def set_targets(self, targets: Targets) -> None:
        with self._lock:
            self.monitor.retarget(targets)
            if self.trial is not None:
                self.trial.targets = targets
        self._source_hears_targets()
        self._controls_changed(save=True)

    def _source_hears_targets(self) -> None:
        """The board source hears the band, limit and shift period (the virtual patient may
        follow them)."""
        targets = self.monitor.targets
        self.source.targets_set(targets.band_low_pct_bw, targets.band_high_pct_bw,
                                targets.limit_pct_bw, targets.shift_period_s)

    def set_exercise(self, exercise: Exercise) -> None:
        with self._lock:
            if self.trial is not None and self.trial.running:
                raise TrialStateError("the exercise is fixed while a trial runs")
            self.monitor.retarget(self.monitor.targets, exercise)
            self.monitor.started_s = None
        self._source_hears_targets()
        self.source.exercise_chosen(exercise.value)
        self._controls_changed(save=True)

    def set_feedback(self, **changes: Any) -> Feedback:
        with self._lock:
            self.feedback = replace(self.feedback, **changes)
            if self.trial is not None and self.trial.state != "stopped":
                self.trial.set_feedback(self.feedback.mode, self.feedback.fade_every_n)
        self._controls_changed(save=True)
        return self.feedback

    def _open_visit(self, patient_id: int | None, clinician_id: int | None) -> None:
        """The session of the visit of ``patient_id`` (None: a patient not from the records,
        whose trials are unassigned). A session other than the one open so far is a new
        visit: its shoes are confirmed again (one tap when they are the same)."""
        if self.visits is None:
            return
        if patient_id is None:
            self.visits.leave()
            self.visit, self.footwear_last = None, None
            return
        visit = self.visits.confirm(patient_id, clinician_id)
        if self.visit is None or visit.id != self.visit.id:
            self.footwear = None
        self.visit = visit
        self.footwear_last = self.visits.last_footwear(patient_id)

    def set_footwear(self, footwear: str | None) -> None:
        """The shoes the patient wears, stored with every trial from now on."""
        with self._lock:
            if self.trial is not None and self.trial.running:
                raise TrialStateError("the footwear is fixed while a trial runs")
            self.footwear = footwear
        self._controls_changed(save=True)

    def end_session(self) -> SessionOut | None:
        """End the open clinic session (at its last trial's end); the patient stays on the rig
        and a new trial reopens the day's session."""
        self.wait_for_recording(10.0)  # the last trial's end stored: the session ends there
        with self._lock:
            if self.trial is not None and self.trial.state != "stopped":
                raise TrialStateError("stop the trial before ending the session")
            if self.visits is None or self.visit is None:
                raise TrialStateError("no session is open: confirm a patient from the records")
            ended, self.visit = self.visits.end(self.visit.id), None
        self._controls_changed(save=True)
        return ended

    def start_trial(self, exercise: Exercise | None = None, clinician_id: int | None = None
                    ) -> LiveTrial:
        """Start a trial of ``exercise`` (default: the one chosen), stored in the session of the
        patient's visit (none: unassigned) with the clinician who started it."""
        with self._lock:
            if not self.settings.devices:
                raise TrialStateError("this is a history server (--no-devices): it has no rig "
                                      "to record a trial from")
            if self.trial is not None and self.trial.state != "stopped":
                raise TrialStateError("a trial is already running: stop it first")
            if exercise is not None:
                self.set_exercise(exercise)
            exercise = self.monitor.exercise
            trial_id = 0
            if self.records is not None:
                if self.patient.patient_id is not None:  # today's session, even after an end
                    self._open_visit(self.patient.patient_id, clinician_id)
                trial_id = self.records.start_trial(
                    self.settings.rig_id, exercise.value,
                    session_id=None if self.visit is None else self.visit.id,
                    clinician_id=clinician_id, footwear=self.footwear).id
            now = time.monotonic()
            self.monitor.started_s = now
            self.trial = LiveTrial(trial_id, exercise, self.monitor.targets,
                                   self.patient.prosthetic_side, started_s=now)
            self.trial.set_feedback(self.feedback.mode, self.feedback.fade_every_n)
            if self.records is not None:
                self.recording = self._start_recording(self.records, trial_id, now)
            self._milestone = None
            self.milestones = MilestoneTracker(self._best_streaks.get(self._patient_key(), 0))
        self._controls_changed()
        return self.trial

    def pause_trial(self) -> None:
        with self._lock:
            self._current_trial().pause(time.monotonic())
        self._controls_changed()

    def resume_trial(self) -> None:
        with self._lock:
            self._current_trial().resume(time.monotonic())
            if self.recording is not None:
                self.recording.resumed()
        self._controls_changed()

    def mark(self, note: str) -> dict[str, Any]:
        with self._lock:
            mark = self._current_trial().mark(time.monotonic(), note)
        self._controls_changed()
        return {"elapsed_s": round(mark.elapsed_s, 2), "note": mark.note}

    def stop_trial(self) -> dict[str, Any]:
        with self._lock:
            trial = self._current_trial()
            summary = trial.stop(time.monotonic())
            if self.recording is not None:
                self._finish_recording(self.recording, summary, trial)
            elif self.records is not None:
                self.records.stop_trial(trial.trial_id)
            self.last_summary = summary
            key = self._patient_key()
            self._best_streaks[key] = max(self._best_streaks.get(key, 0), trial.steps.best_streak)
        self._controls_changed()
        return summary

    def _patient_key(self) -> str:
        return str(self.patient.patient_id or self.patient.display_name)

    # -- the rig's state: shared by every console, kept across a restart
    # (gaitrig.rig.live.rig_state) --------

    def _controls_changed(self, save: bool = False) -> None:
        """A control changed what the consoles show: a new ``controls_version``, published at
        once; ``save``: the change is to the stored state, written in the background."""
        with self._lock:
            self.controls_version += 1
        if save and self.state_writer is not None:
            self.state_writer.changed()
        self._publish_now.set()

    def persisted_state(self) -> dict[str, Any]:
        """What is stored of the rig's state (a JSON-able dict, :mod:`gaitrig.rig.live.rig_state`);
        keys of the stored state this server does not know come along unchanged."""
        with self._lock:
            return {**self._carried_state, "version": stored.STATE_VERSION,
                    "patient": stored.patient_state(self.patient),
                    "exercise": self.monitor.exercise.value,
                    "targets": stored.targets_state(self.monitor.targets),
                    "feedback": stored.feedback_state(self.feedback),
                    "footwear": self.footwear}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back a stored state (at start, before any trial). Each key on its own: one
        that does not read back keeps the current setting (logged); unknown keys are kept and
        stored again as they were."""
        restorers: dict[str, Callable[[Any], None]] = {
            "patient": lambda v: setattr(self, "patient", stored.patient_from_state(v)),
            "exercise": lambda v: self.monitor.retarget(self.monitor.targets,
                                                        stored.exercise_from_state(v)),
            "targets": lambda v: self.monitor.retarget(stored.targets_from_state(v)),
            "feedback": lambda v: setattr(self, "feedback", stored.feedback_from_state(v)),
            "footwear": lambda v: setattr(self, "footwear", footwear_from_state(v)),
        }
        with self._lock:
            self._carried_state = {k: v for k, v in state.items()
                                   if k not in restorers and k != "version"}
            for key, restore in restorers.items():
                if key not in state:
                    continue
                try:
                    restore(state[key])
                except (ValueError, TypeError, KeyError) as exc:
                    log.warning("stored rig state: %s not restored (%s)", key, exc)
            self.monitor = TargetMonitor(self.patient.prosthetic_side, self.monitor.exercise,
                                         self.monitor.targets, debounce_s=self.monitor.debounce_s,
                                         hold_s=self.monitor.hold_s)
            if self.calibration is not None:
                self._use_calibration(self.calibration)
            self._resume_visit()
        self._controls_changed()

    def _resume_visit(self) -> None:
        """After a restart: the patient's session of today, if it is still open (none is
        opened here: the next confirmation or trial does that)."""
        patient_id = self.patient.patient_id
        if self.visits is None or patient_id is None:
            return
        try:
            self.visit = self.visits.open_today(patient_id)
            self.footwear_last = self.visits.last_footwear(patient_id)
        except Exception:  # the database away at start: the next trial opens the visit
            log.warning("could not read the open session of patient %d", patient_id,
                        exc_info=True)

    # -- recording (gaitrig.rig.recording.recorder)
    # ---------------------------------------------------------------

    def _start_recording(self, records: Records, trial_id: int, started_s: float
                         ) -> TrialRecorder:
        """A recorder for the trial that starts now, with the setup it needs to reprocess."""
        assert self.calibration is not None
        recorder = TrialRecorder(records, trial_id, started_s, spool_folder=self.spool_folder)
        fading = {"mode": self.feedback.mode, "fade_every_n": self.feedback.fade_every_n}
        recorder.begin(setup_fields(self.settings, self.patient, self.calibration, self.layout,
                                    self.monitor.targets, self.links, fading),
                       board_devices(self.links))
        return recorder

    def _finish_recording(self, recorder: TrialRecorder, summary: dict[str, Any],
                          trial: LiveTrial) -> None:
        self.recording, self.last_recording = None, recorder
        self.unfinished_recordings = [r for r in self.unfinished_recordings if not r.wait(0)]
        self.unfinished_recordings.append(recorder)
        now = time.monotonic()
        for port, since in self._lost_since.items():  # still lost at the stop
            recorder.board_lost(self._known_roles.get(port, port), since, now - since)
        recorder.finish(summary, trial.alarms)

    def wait_for_recording(self, timeout_s: float = 60.0) -> bool:
        """Wait until the stopped trials' recordings are written and analysed (True when they
        are)."""
        deadline = time.monotonic() + timeout_s
        return all(r.wait(max(0.0, deadline - time.monotonic()))
                   for r in self.unfinished_recordings)

    @property
    def spool_folder(self) -> Path:
        """Where recordings wait when the server stops while the database is away."""
        return self.settings.data_dir / "spool"

    def _note_lost_boards(self, devices: list[dict[str, Any]], now: float
                          ) -> list[dict[str, Any]]:
        """Each device gets ``lost_for_s`` (s, None while connected); a board back after a loss
        during a trial is kept with the trial's recording (a ``board_lost`` alarm)."""
        for device in devices:
            port = device["port"]
            since = self._lost_since.get(port)
            if not device["connected"] and port in self._known_roles:
                if since is None:
                    since = self._lost_since[port] = now
                device["lost_for_s"] = round(now - since, 2)
                continue
            device["lost_for_s"] = None
            if since is not None:
                del self._lost_since[port]
                log.warning("%s: board back after %.2f s", port, now - since)
                if self.recording is not None:
                    self.recording.board_lost(device["role"] or port, since, now - since)
        return devices

    def recording_status(self, now: float) -> dict[str, Any] | None:
        """The recorder's state for the live message (the running trial's, else the newest
        stopped one still being written); None when nothing is being recorded."""
        recorder = self.recording or next(
            (r for r in reversed(self.unfinished_recordings) if not r.done.is_set()), None)
        return None if recorder is None else recorder.status(now)

    def _current_trial(self) -> LiveTrial:
        if self.trial is None:
            raise TrialStateError("no trial has been started")
        return self.trial

    def tare(self, clinician_id: int | None = None) -> CalibrationResult:
        """Zero the bars on the last second of readings; refused (with the reason) if they move.
        Accepted, it is stored for the bars board, as made by ``clinician_id``."""
        with self._lock:
            assert self.calibration is not None
            result = procedures.tare_bars(self.calibration, self._recent_bar_counts(1.0))
        return self._accept(result, clinician_id)

    def calibrate_bars(self, known_mass_kg: float, post: int | None = None,
                       bar: str | None = None, clinician_id: int | None = None
                       ) -> CalibrationResult:
        """A known weight of ``known_mass_kg`` (kg) rests on bar post ``post`` (0-3: left front,
        left rear, right front, right rear) or hangs on the whole ``bar`` ("left"/"right"): that
        post's (or bar's) gain from the last second of readings, after a tare with the bars empty.
        Refused with the reason when the weight is not still or the gain is implausible;
        accepted, stored for the bars board as made by ``clinician_id``."""
        if (post is None) == (bar is None):
            raise ValueError("give either a post (0-3) or a bar ('left' or 'right')")
        with self._lock:
            assert self.calibration is not None
            counts = self._recent_bar_counts(1.0)
            if post is not None:
                result = procedures.post_gain_from_weight(self.calibration, counts, post,
                                                          known_mass_kg)
            elif bar in ("left", "right"):
                result = procedures.bar_gain_from_weight(
                    self.calibration, counts, "left" if bar == "left" else "right", known_mass_kg)
            else:
                raise ValueError(f"bar must be 'left' or 'right', got {bar!r}")
        return self._accept(result, clinician_id)

    def _recent_bar_counts(self, seconds: float) -> np.ndarray:
        """The bars board's raw readings (n, 4) of the last ``seconds``. Holds ``_lock``."""
        raw = [b.raw["bars"].counts for b in self._recent_blocks(seconds) if len(b.raw["bars"])]
        return np.vstack(raw) if raw else np.empty((0, 4), dtype=np.int64)

    def _accept(self, result: CalibrationResult, clinician_id: int | None) -> CalibrationResult:
        """Use an accepted calibration and store each board it changed
        (gaitrig.rig.live.board_calibrations); the database write happens outside ``_lock``."""
        if not result.accepted:
            return result
        with self._lock:
            self._use_calibration(result.calibration)
            claimed = self.board_calibrations.claim(result.changed_boards)
        self.board_calibrations.keep(claimed, result, clinician_id)
        self._controls_changed()  # every console reads the boards' calibrations again
        return result

    def _use_board_calibration(self, role: str,
                               board: LinearCalibration | FsrCalibration | None) -> bool:
        """Use ``board`` (a stored calibration of the board now in ``role``; None: its nominal
        one) for that role, the other boards unchanged. False (nothing changed) when it does not
        fit the rig's channels. Called with ``_lock`` held (gaitrig.rig.live.board_calibrations)."""
        nominal, current = self.nominal_calibration, self.calibration
        if nominal is None or current is None:
            return False
        parts: dict[str, Any] = {"insole_left": current.insole_left,
                                 "insole_right": current.insole_right, "bars": current.bars}
        fallback = getattr(nominal, role)
        chosen = fallback if board is None else board
        if type(chosen) is not type(fallback) or chosen.channels != fallback.channels:
            return False
        parts[role] = chosen
        self._use_calibration(RigCalibration(**parts))
        self._controls_changed()
        return True

    def board_calibration_status(self) -> list[dict[str, Any]]:
        """Per board: the calibration in use, its kind, when (UTC), age (s), by whom, or none
        (gaitrig.rig.live.board_calibrations.BoardCalibrationKeeper.status)."""
        return self.board_calibrations.status(ROLES if self.links else ())

    def ask_standing_phase(self, phase: str | None) -> None:
        """The insole calibration asks the patient for a posture (``both``, ``left``,
        ``right``; None: done): the patient's screen says it in words, and the virtual patient
        does it."""
        if phase is not None and phase not in STANDING_PHASES:
            raise ValueError(f"unknown phase {phase!r}: one of {', '.join(STANDING_PHASES)}")
        with self._lock:
            self.calibration_phase = phase
        self.source.posture_asked(phase, self.monitor.exercise.value)
        self._controls_changed()

    def capture_standing_phase(self, phase: str, seconds: float = 2.0) -> dict[str, Any]:
        """Keep the last ``seconds`` of the insole calibration phase ``both``/``left``/``right``,
        checked at once (still, hands light, the lifted foot off the floor): ``accepted`` with
        ``reason``; a refused phase is not kept, and only it needs repeating."""
        if phase not in STANDING_PHASES:
            raise ValueError(f"unknown phase {phase!r}: one of {', '.join(STANDING_PHASES)}")
        with self._lock:
            assert self.calibration is not None
            blocks = self._recent_blocks(seconds)
            if not blocks:
                raise TrialStateError("no data from the insoles yet")
            captured = procedures.StandingPhase(
                *(np.vstack([b.counts[role] for b in blocks]) for role in ROLES))
            rows = sum(b.rows for b in blocks)
            check: PhaseCheck = procedures.check_standing_phase(
                self.calibration, self.patient.body_mass_kg, phase, captured,
                None if phase == "both" else self.standing_phases.get("both"))
            if check.accepted:
                self.standing_phases[phase] = captured
            else:
                self.standing_phases.pop(phase, None)
            kept = sorted(self.standing_phases)
        return {"phase": phase, "samples": rows, "accepted": check.accepted,
                "reason": check.reason, "measured": check.inputs, "captured": kept,
                "missing": [p for p in STANDING_PHASES if p not in kept]}

    def calibrate_insoles(self, clinician_id: int | None = None) -> CalibrationResult:
        """Scale each insole so standing load matches body weight (all three phases needed).
        Refused because of one phase (``repeat_phase``), only that phase is dropped; refused as
        a whole, every phase is. Accepted, it is stored for both insoles."""
        with self._lock:
            assert self.calibration is not None
            missing = [p for p in STANDING_PHASES if p not in self.standing_phases]
            if missing:
                raise TrialStateError(f"capture these phases first: {', '.join(missing)}")
            phases = self.standing_phases
            result = procedures.insole_body_weight_calibration(
                self.calibration, self.patient.body_mass_kg, phases["both"], phases["left"],
                phases["right"])
            if result.accepted or result.repeat_phase is None:
                self.standing_phases.clear()
            else:
                self.standing_phases.pop(result.repeat_phase, None)
        return self._accept(result, clinician_id)

    def _use_calibration(self, calibration: RigCalibration) -> None:
        self.calibration = calibration
        self.processor = pipeline.BlockProcessor(calibration, self.layout,
                                                 self.patient.body_mass_kg)

    def _recent_blocks(self, seconds: float) -> list[MergedBlock]:
        if not self._recent:
            return []
        newest = self._recent[-1].host_time_s[-1]
        return [b for b in self._recent if b.host_time_s[-1] >= newest - seconds]

    # -- data path -----------------------------------------------------------------------------

    def _take(self, link: BoardLink) -> None:
        """What a board sent since its last poll: DATA goes to the collector, stamped with the
        sample's host time (s)."""
        received = link.poll()
        if not received or link.hello is None or self.collector is None:
            return
        role = link.hello.role.name.lower()
        for message, sample_time_s in received:
            if isinstance(message, p.Data):
                self.collector.add(role, sample_time_s, message.seq, message.timestamp_us,
                                   message.values)

    def _loop(self) -> None:
        assert self.collector is not None
        collector = self.collector
        interval_s = 1.0 / self.settings.live_update_hz
        schedule = BlockSchedule(interval_s)
        last_publish = 0.0
        load: LoadSnapshot | None = None
        pending = False
        while not self._stopping.is_set():
            schedule.wait(time.monotonic(), self._publish_now, self.links)
            self._read_boards(fresh=schedule.fresh)
            self.board_calibrations.notice(self.links)  # a board new in its role: its calibration
            block = collector.take_block()
            if block is not None:
                with self._lock:
                    load = self._process(block)
                pending = True
            elif load is not None and time.monotonic() - load.sample_time_s > STALE_AFTER_S:
                with self._lock:  # every board silent: no alarm stays on from the last values
                    self._end_stale_alarms(time.monotonic())
            now = time.monotonic()
            urgent = self._publish_now.is_set()
            every_block = pending and schedule.every_block_published
            if urgent or every_block or now - last_publish >= (
                    interval_s if pending else IDLE_PUBLISH_S):
                self._publish_now.clear()
                with self._lock:
                    self._publish(now, load, collector, urgent)
                last_publish, pending = now, False

    def _read_boards(self, fresh: bool) -> None:
        """Poll every board for what has arrived; ``fresh``: then wait (at most
        :data:`FRESH_WAIT_S`) for each insole's next packet and take it too."""
        for link in self.links:
            self._take(link)
        if not fresh:
            return
        waiting = [link for link in self.links if link.hello is not None
                   and link.hello.role != p.BoardRole.BARS and link.fileno() is not None]
        deadline = time.monotonic() + FRESH_WAIT_S
        while waiting and (left_s := deadline - time.monotonic()) > 0:
            for link in readable(waiting, left_s):
                self._take(link)
                waiting.remove(link)

    def _process(self, block: MergedBlock) -> LoadSnapshot:
        """One block through the pipeline, the targets and the trial. Holds ``_lock``."""
        assert self.processor is not None
        result = self.processor.process(block.counts["insole_left"], block.counts["insole_right"],
                                        block.counts["bars"])
        self._recent.append(block)
        while self._recent and self._recent[0].host_time_s[-1] < block.host_time_s[-1] - RECENT_S:
            self._recent.popleft()
        pct = result.pct_bw
        left, right, bars = pct[:, 0], pct[:, 1], pct[:, 2] + pct[:, 3]
        prosthetic = left if self.patient.prosthetic_side == "left" else right
        active_before = len(self.monitor.active())
        # Alarms never rest on a held value: a stale or gone board's rows are "no data" (NaN).
        lost, prosthetic_role = self.lost_roles(), "insole_" + self.patient.prosthetic_side
        started = self.monitor.update(
            block.host_time_s,
            fresh_only(prosthetic, block, prosthetic_role, gone=prosthetic_role in lost),
            fresh_only(bars, block, "bars", gone="bars" in lost))
        if started or len(self.monitor.active()) != active_before:
            self._publish_now.set()  # alarms reach the screens at once, not at the next tick
        if self.trial is not None and self.trial.running:
            self.trial.add_samples(block.host_time_s, left, right, bars)
            self.trial.add_alarms(started)
            if self.recording is not None:
                self.recording.append(block, result)
        return newest_load(block.host_time_s[-1], result)

    def _end_stale_alarms(self, now: float) -> None:
        """No block for longer than :data:`STALE_AFTER_S`: the active alarms end (no data)."""
        if self.monitor.active():
            nan = np.array([np.nan])
            self.monitor.update(np.array([now]), nan, nan)
            self._publish_now.set()

    def lost_roles(self) -> set[str]:
        """The roles whose board's port is gone (unplugged, cable lost): not live from that
        moment, however young its newest sample."""
        return {role for link in self.links if not link.connected
                and (role := self._known_roles.get(link.port)) is not None}

    def unavailable_sources(self, now: float, collector: FrameCollector) -> dict[str, str]:
        """Source -> why its values are not live: its board's newest sample is older than
        :data:`STALE_AFTER_S` (or it never sent one), or its port is gone."""
        newest, lost = collector.newest_sample_time_s, self.lost_roles()
        out = {}
        for role, (source, name) in BOARD_SOURCES.items():
            sample_s = newest.get(role)
            if sample_s is None:
                out[source] = f"no signal from {name}"
            elif (age := now - sample_s) > STALE_AFTER_S:
                out[source] = f"no signal from {name} for {age:.1f} s"
            elif role in lost:
                out[source] = f"no signal from {name} (disconnected)"
        return out

    def _publish(self, now: float, load: LoadSnapshot | None, collector: FrameCollector,
                 urgent: bool = False) -> None:
        """Encode and hand on the state; ``urgent`` (an alarm started or ended, a control
        changed) lets the hub send it at once, past each client's rate limit."""
        self._seq += 1
        if self.trial is not None and self.trial.running:
            self._milestone = self.milestones.update(self.trial.steps, now)
        view = RigView(
            rig_id=self.settings.rig_id, patient=self.patient, exercise=self.monitor.exercise,
            targets=self.monitor.targets, band_side=self.monitor.band_side(now),
            alarms=self.monitor.active(), feedback=self.feedback, trial=self.trial,
            milestone=self._milestone, live_rig=self.settings.devices,
            server_instance=self.server_instance, controls_version=self.controls_version,
            calibration_phase=self.calibration_phase)
        devices = self._note_lost_boards(self.device_status(), now)
        message = live_message(self._seq, now, view, load, devices,
                               collector.newest_seq, collector.newest_device_time,
                               recording=self.recording_status(now),
                               unavailable=self.unavailable_sources(now, collector)
                               if self.settings.devices else None)
        text = json.dumps(message, separators=(",", ":"))
        self.latest, self.latest_json = message, text
        if self.publish is not None:
            self.publish(text, urgent)

    def device_status(self) -> list[dict[str, Any]]:
        devices = []
        for link in self.links:
            status = link.status()
            age = status.last_frame_age_s
            if status.role:  # an unplugged board keeps the name it had (no HELLO to say it)
                self._known_roles[status.port] = status.role
            devices.append({
                "role": self._known_roles.get(status.port, status.role), "port": status.port,
                "connected": status.connected,
                "silent": age is None or age > SILENT_AFTER_S,
                "stale": age is None or age > STALE_AFTER_S,
                "serial_number": status.serial_number,
                "firmware_version": status.firmware_version,
                "sample_rate_hz": status.sample_rate_hz,
                "last_frame_age_s": None if age is None else round(age, 4),
                "reconnects": status.reconnects, "status_flags": status.status_flags,
                "last_error": status.last_error,
                "clock_drift_ppm": round(status.clock_drift_ppm, 1),
                "clock_drift_implausible": status.clock_drift_implausible, **status.counters,
            })
        return devices


def fresh_only(values: np.ndarray, block: MergedBlock, role: str, gone: bool = False
               ) -> np.ndarray:
    """``values`` with NaN on the rows where ``role``'s held sample is older than
    :data:`STALE_AFTER_S` (not live); all NaN when its board is ``gone`` (port lost)."""
    if gone:
        return np.full(len(values), np.nan)
    age = block.sample_age_s.get(role)
    if age is None:
        return values
    return np.where(age > STALE_AFTER_S, np.nan, values)


def newest_load(sample_time_s: float, result: pipeline.BlockResult) -> LoadSnapshot:
    """The last row of a processed block."""
    def four(values: np.ndarray) -> tuple[float, float, float, float]:
        a, b, c, d = (float(v) for v in values)
        return a, b, c, d

    return LoadSnapshot(
        sample_time_s=float(sample_time_s),
        force_n=(float(result.left_foot_n[-1]), float(result.right_foot_n[-1]),
                 float(result.left_bar_n[-1]), float(result.right_bar_n[-1])),
        pct_bw=four(result.pct_bw[-1]),
        share_pct=four(result.share_pct[-1]),
        left_cop_mm=(float(result.left_cop_mm[-1, 0]), float(result.left_cop_mm[-1, 1])),
        right_cop_mm=(float(result.right_cop_mm[-1, 0]), float(result.right_cop_mm[-1, 1])),
        left_hand_position_mm=float(result.hand_position_mm[-1, 0]),
        right_hand_position_mm=float(result.hand_position_mm[-1, 1]),
    )


def idle_counts(channel_calibrations: list[dict[str, Any]]) -> np.ndarray:
    """Counts that mean "no load" on each channel, held until a board's first frame arrives."""
    return np.array([round(float(c.get("offset_counts", 0))) for c in channel_calibrations],
                    dtype=np.int64)
