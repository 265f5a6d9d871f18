/*
 * Therapist console, controls: the patient (picked from the clinic records or entered), the tare
 * and the insole calibration wizard, exercise, targets (kg or % body weight), feedback switches,
 * and the trial (start, pause, stop, mark, summary). Everything goes through the rig's REST API
 * (web_ui/routers/console.py); the rig answers with its new state or a 409/422 with the reason,
 * which is shown next to the control. Live state comes from console.js (window.gaitConsole).
 */
(function () {
  "use strict";

  var C = window.gaitConsole;
  var byId = C.byId;
  var isNum = GaitLive.isNum;
  var api = GaitRest.api;
  var CAPTURE_HOLD_MS = 2500;   // the patient holds each posture this long; the rig keeps 2 s
  var GET_READY_MS = 2000;      // after the posture is asked (display and voice), before the hold
  var SEARCH_DELAY_MS = 250;
  var PICKER_ROWS = 8;
  var STORE_WAIT_MS = 30000;    // the recorder stores the trial after stop, in the background

  var rig = null;               // the rig's state (GET /api/rig and every control's answer)
  // The rig's controls_version in `rig`: a live message with another one means a control
  // changed (in this tab, another tab or another device), and the rig is read again.
  var rigVersion = null;
  var refreshing = false, refreshAgain = false, refreshFailedMs = 0;
  var REFRESH_RETRY_MS = 1000;

  function say(el, text, ok) {
    el.textContent = text;
    el.setAttribute("data-ok", ok === undefined ? "" : ok ? "true" : "false");
  }

  function numberOrNull(el) {
    var v = el.value.trim();
    return v === "" ? null : Number(v);
  }

  function useRig(state) {
    rig = state;
    if (typeof state.controls_version === "number") rigVersion = state.controls_version;
    fillOnRig();
    markExercise(state.exercise);
    fillFeedback(state.feedback);
    fillVisit(state);
    fillMarks(state.trial);
    fillBoardCalibrations(state.boards_calibration);
    syncTargets();
    if (state.trial && state.trial.state !== "stopped") byId("summary").hidden = true;
    else if (state.last_summary && byId("summary").hidden) showSummary(state.last_summary, false);
    return state;
  }

  /** Read the rig again (another tab or device changed it); one request at a time. */
  function refresh() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    api("GET", "/api/rig").then(useRig).catch(function () {
      refreshFailedMs = Date.now();
    }).then(function () {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refresh(); }
    });
  }

  /** The marks of the rig's trial, as the server has them (every tab's). */
  function fillMarks(trial) {
    var list = byId("mark-list");
    var marks = trial && trial.marks ? trial.marks : [];
    var key = JSON.stringify(marks);
    if (list.getAttribute("data-marks") === key) return;
    list.setAttribute("data-marks", key);
    list.textContent = "";
    marks.forEach(function (mark) {
      var li = document.createElement("li");
      li.textContent = mark.elapsed_s.toFixed(1) + " s \u2013 " + mark.note;
      list.appendChild(li);
    });
  }

  /* ------------------------------------------------------------------ 1. patient */
  var form = byId("patient-form");
  var results = byId("patient-results");
  var pickerNote = byId("picker-note");
  var recordsAvailable = true;

  // The amputation levels: the records' one list (GET /api/amputation-levels), also offered here.
  var LEVEL_NAMES = {};
  var levelWanted = null;     // a level to show once the list has come
  function fillLevels(levels) {
    var select = byId("patient-level");
    select.textContent = "";
    levels.forEach(function (level) {
      var option = document.createElement("option");
      option.value = level.key;
      option.textContent = level.label;
      select.appendChild(option);
      LEVEL_NAMES[level.key] = level.label.toLowerCase();
    });
    if (levelWanted) select.value = levelWanted;
    if (rig) fillOnRig();
  }

  function fillOnRig() {
    var p = rig.patient;
    byId("rig-patient-name").textContent = p.display_name;
    byId("rig-patient-facts").textContent = p.body_mass_kg + " kg \u00b7 " +
      (p.prosthetic_side === "left" ? "left" : "right") + " prosthesis" +
      (p.amputation_level ? ", " + (LEVEL_NAMES[p.amputation_level] ||
        p.amputation_level.replace(/_/g, " ")) : "") +
      (p.patient_id ? " \u00b7 record #" + p.patient_id : " \u00b7 not from the records");
  }

  function fillPatientForm(p) {
    byId("patient-display-name").value = p.display_name || p.name || "";
    var mass = isNum(p.current_body_mass_kg) ? p.current_body_mass_kg : p.body_mass_kg;
    byId("patient-mass").value = isNum(mass) ? mass : "";
    var side = p.prosthetic_side || p.amputation_side;
    form.querySelectorAll('input[name="side"]').forEach(function (radio) {
      radio.checked = radio.value === side;
    });
    // The rig offers the records' own levels, so a patient's level is kept as it is.
    if (p.amputation_level) {
      levelWanted = p.amputation_level;
      byId("patient-level").value = p.amputation_level;
    }
    byId("patient-id").value = p.patient_id || p.id || "";
    recordMassKg = isNum(p.current_body_mass_kg) ? p.current_body_mass_kg : null;
  }
  var recordMassKg = null;   // the newest weighing in the records of the picked patient

  var searchTimer = null;
  function search() {
    var q = byId("patient-search").value.trim();
    api("GET", "/api/patients?limit=" + PICKER_ROWS + "&q=" + encodeURIComponent(q)).then(function (page) {
      results.textContent = "";
      (page.items || []).forEach(function (p) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "picker-item";
        button.setAttribute("data-patient-id", String(p.id));
        button.innerHTML = "<strong></strong> <small></small>";
        button.querySelector("strong").textContent = p.name;
        button.querySelector("small").textContent = [p.identifier,
          p.amputation_side ? p.amputation_side + " " + (p.amputation_level || "") : ""]
          .filter(Boolean).join(" \u00b7 ");
        button.addEventListener("click", function () { pick(p.id); });
        li.appendChild(button);
        results.appendChild(li);
      });
      pickerNote.textContent = page.total ? (page.total > (page.items || []).length
        ? "Showing " + page.items.length + " of " + page.total + "; type more to narrow." : "")
        : q ? "No patient matches \u201c" + q + "\u201d. Use \u201cNew patient\u201d."
          : "No patients in the records yet. Use \u201cNew patient\u201d.";
    }).catch(function (err) {
      if (err.status === 404 || err.status === 405) {
        recordsAvailable = false;
        pickerNote.textContent = "Patient records are not available on this server: " +
          "enter the patient below.";
      } else {
        pickerNote.textContent = "Could not search the records: " + err.message;
      }
    });
  }

  function pick(id) {
    api("GET", "/api/patients/" + id).then(function (detail) {
      var p = Object.assign({}, detail.patient || detail,
                            {current_body_mass_kg: detail.current_body_mass_kg});
      byId("identifier-field").hidden = true;
      fillPatientForm(p);
      if (p.amputation_side === "bilateral") {
        say(byId("patient-result"), "Bilateral: choose the side the targets are for.");
        return;
      }
      results.querySelectorAll(".picker-item").forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-patient-id") === String(id)
          ? "true" : "false");
      });
      say(byId("patient-result"), "Check body mass, side and level, then confirm.");
    }).catch(function (err) { say(byId("patient-result"), err.message, false); });
  }

  byId("patient-search").addEventListener("input", function () {
    if (searchTimer !== null) window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(search, SEARCH_DELAY_MS);
  });

  byId("patient-new").addEventListener("click", function () {
    fillPatientForm({});
    byId("patient-identifier").value = "";
    byId("identifier-field").hidden = !recordsAvailable;
    byId("patient-display-name").focus();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var result = byId("patient-result");
    var sideInput = form.querySelector('input[name="side"]:checked');
    var body = {
      display_name: byId("patient-display-name").value.trim(),
      body_mass_kg: Number(byId("patient-mass").value),
      prosthetic_side: sideInput ? sideInput.value : null,
      amputation_level: byId("patient-level").value || null
    };
    if (!body.prosthetic_side) { say(result, "Choose the prosthetic side.", false); return; }
    var id = byId("patient-id").value;
    var identifier = byId("patient-identifier").value.trim();
    var created = Promise.resolve(id ? Number(id) : null);
    if (!id && !byId("identifier-field").hidden) {
      if (!identifier) { say(result, "A new patient needs an identifier.", false); return; }
      created = api("POST", "/api/patients", {
        identifier: identifier, name: body.display_name, amputation_side: body.prosthetic_side,
        amputation_level: body.amputation_level, body_mass_kg: body.body_mass_kg
      }).then(function (p) { byId("patient-id").value = p.id; return p.id; });
    }
    created.then(function (patientId) {
      body.patient_id = patientId;
      return api("PUT", "/api/rig/patient", body).then(function (state) {
        useRig(state);
        if (patientId) {  // the server opened (or resumed) today's session
          if (recordMassKg !== null && Math.abs(recordMassKg - body.body_mass_kg) >= 0.05) {
            // The therapist weighed the patient today: the records keep the new body mass.
            api("POST", "/api/patients/" + patientId + "/body-masses",
                {mass_kg: body.body_mass_kg}).catch(function () {});
          }
          recordMassKg = body.body_mass_kg;
        }
        say(result, "\u2713 " + body.display_name + " is on the rig.", true);
        fillTargets();
      });
    }).catch(function (err) { say(result, err.message, false); });
  });

  /* ------------------------------------------------------------------ 2. tare, calibration */
  byId("tare-button").addEventListener("click", function () {
    var out = byId("tare-result");
    say(out, "Taring\u2026 keep hands off the bars.");
    api("POST", "/api/rig/tare").then(function (r) {
      out.setAttribute("data-accepted", r.accepted ? "true" : "false");
      say(out, r.accepted ? "\u2713 Bars tared." : "\u2717 Refused: " + r.reason, r.accepted);
      fillBoardCalibrations(r.boards_calibration);
    }).catch(function (err) { say(out, err.message, false); });
  });

  /* Each board's calibration in use (GET /api/rig boards_calibration: kind, calibrated_at UTC,
   * age_s, by, or "none"): "Bars: tared 3 days ago by Dr X", a warning for a board with none. */
  var BOARD_LABEL = {bars: "Bars", insole_left: "Left insole", insole_right: "Right insole"};
  var KIND_LABEL = {tare: "tared", known_weight: "calibrated with a known weight",
                    body_weight: "calibrated to body weight"};
  var boardCalibrations = null, boardCalibrationsAtMs = 0;

  function ago(seconds) {
    var minutes = seconds / 60, hours = minutes / 60, days = hours / 24;
    function n(value, unit) { var r = Math.round(value); return r + " " + unit + (r === 1 ? "" : "s") + " ago"; }
    if (seconds < 60) return "just now";
    if (minutes < 60) return n(minutes, "minute");
    if (hours < 24) return n(hours, "hour");
    return n(days, "day");
  }

  function fillBoardCalibrations(list) {
    if (!Array.isArray(list)) return;
    boardCalibrations = list;
    boardCalibrationsAtMs = Date.now();
    renderBoardCalibrations();
  }

  function renderBoardCalibrations() {
    if (boardCalibrations === null) return;
    var ul = byId("board-calibrations");
    var sinceS = (Date.now() - boardCalibrationsAtMs) / 1000;
    ul.textContent = "";
    if (boardCalibrations.length === 0) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = "No boards on this rig.";
      ul.appendChild(none);
    }
    boardCalibrations.forEach(function (b) {
      var li = document.createElement("li");
      var name = BOARD_LABEL[b.role] || b.role;
      li.setAttribute("data-role", b.role);
      li.setAttribute("data-calibration", b.calibration);
      if (b.calibration === "stored" || b.calibration === "unsaved") {
        li.textContent = name + ": " + (KIND_LABEL[b.kind] || b.kind) + " " +
          ago(b.age_s + sinceS) + (b.by ? " by " + b.by : "") +
          (b.warning ? ". \u26A0 " + b.warning : ".");
        li.title = "since " + b.calibrated_at + " (UTC)";
      } else {
        li.textContent = "\u26A0 " + name + ": " + (b.warning || "no stored calibration.");
      }
      ul.appendChild(li);
    });
  }
  window.setInterval(renderBoardCalibrations, 30000);
  // Also read at once on its own (useRig fills it again on every change of the rig's controls).
  api("GET", "/api/rig").then(function (state) {
    if (boardCalibrations === null) fillBoardCalibrations(state.boards_calibration);
  }).catch(function () {});

  byId("known-weight-button").addEventListener("click", function () {
    var out = byId("known-weight-result");
    var mass = Number(byId("known-mass").value);
    out.setAttribute("data-accepted", "");
    if (!(mass > 0)) { say(out, "Enter the weight's mass in kg.", false); return; }
    var where = byId("known-where").value.split(":");
    var body = {mass_kg: mass};
    if (where[0] === "post") body.post = Number(where[1]); else body.bar = where[1];
    say(out, "Measuring\u2026 keep hands off the bars.");
    api("POST", "/api/rig/calibration/bars", body).then(function (r) {
      out.setAttribute("data-accepted", r.accepted ? "true" : "false");
      say(out, (r.accepted ? "\u2713 Accepted: " : "\u2717 Refused: ") + r.reason, r.accepted);
      fillBoardCalibrations(r.boards_calibration);
    }).catch(function (err) { say(out, err.message, false); });
  });

  /* The insole wizard: each phase is checked by the rig as it ends (accepted, or refused with
   * the reason); a refused phase is repeated alone, the others are kept. */
  var PHASES = ["both", "left", "right"];
  var PHASE_LABEL = {both: "both feet", left: "left foot", right: "right foot"};
  var wizard = {index: 0, busy: false};
  var steps = byId("calib-steps");
  var progress = byId("calib-progress");

  function phaseState(phase, state, note) {
    var li = steps.querySelector('[data-phase="' + phase + '"]');
    li.setAttribute("data-state", state);
    var span = li.querySelector(".phase-note");
    if (!span) {
      span = document.createElement("span");
      span.className = "phase-note";
      li.appendChild(span);
    }
    span.textContent = note || "";
  }

  function firstToDo() {
    for (var i = 0; i < PHASES.length; i++) {
      var li = steps.querySelector('[data-phase="' + PHASES[i] + '"]');
      if (li.getAttribute("data-state") !== "done") return i;
    }
    return PHASES.length;
  }

  function askRepeat(phase, reason) {
    phaseState(phase, "refused", "\u2717 repeat");
    wizard.index = PHASES.indexOf(phase);
    byId("calib-next").textContent = "Repeat this phase: " + PHASE_LABEL[phase];
    byId("calib-say").textContent = "Only the " + PHASE_LABEL[phase] + " phase needs repeating.";
    byId("calib-result").setAttribute("data-accepted", "false");
    say(byId("calib-result"), "\u2717 Refused: " + reason, false);
  }

  function animateProgress(ms) {
    progress.style.transition = "none";
    progress.style.transform = "scaleX(0)";
    void progress.offsetWidth;
    progress.style.transition = "transform " + ms + "ms linear";
    progress.style.transform = "scaleX(1)";
  }

  function resetWizard() {
    wizard.index = 0;
    PHASES.forEach(function (p) { phaseState(p, "todo"); });
    progress.style.transition = "none";
    progress.style.transform = "scaleX(0)";
    byId("calib-next").textContent = "Start: both feet";
    byId("calib-next").disabled = false;
    byId("calib-say").textContent = "Ask the patient to stand still, then start.";
    byId("calib-result").setAttribute("data-accepted", "");
    say(byId("calib-result"), "");
  }

  byId("calib-restart").addEventListener("click", resetWizard);
  byId("calib-next").addEventListener("click", function () {
    if (wizard.busy) return;
    var out = byId("calib-result");
    var phase = PHASES[wizard.index];
    var next = byId("calib-next");
    wizard.busy = true;
    next.disabled = true;
    phaseState(phase, "capturing");
    byId("calib-wizard").setAttribute("data-phase", phase);
    byId("calib-say").textContent = "Asking the patient: the " + PHASE_LABEL[phase] + "\u2026";
    out.setAttribute("data-accepted", "");
    say(out, "");
    // The patient's screen shows the posture; a moment to take it, then the hold is captured.
    var asked = api("PUT", "/api/rig/calibration/insoles/asked", {phase: phase}).catch(function () {});
    var hold = asked.then(function () {
      return new Promise(function (resolve) { window.setTimeout(resolve, GET_READY_MS); });
    }).then(function () {
      byId("calib-say").textContent = "Hold still on the " + PHASE_LABEL[phase] + "\u2026";
      animateProgress(CAPTURE_HOLD_MS);
      return new Promise(function (resolve) { window.setTimeout(resolve, CAPTURE_HOLD_MS); });
    });
    hold.then(function () {
      api("POST", "/api/rig/calibration/insoles/" + phase).then(function (r) {
        if (!r.accepted) { askRepeat(phase, r.reason); return null; }
        phaseState(phase, "done", "\u2713 accepted");
        wizard.index = firstToDo();
        if (wizard.index < PHASES.length) {
          var upcoming = PHASES[wizard.index];
          byId("calib-say").textContent = "\u2713 " + r.samples + " samples. Now the " +
            PHASE_LABEL[upcoming] + ".";
          next.textContent = "Start: " + PHASE_LABEL[upcoming];
          return null;
        }
        byId("calib-say").textContent = "Computing\u2026";
        return api("POST", "/api/rig/calibration/insoles").then(function (result) {
          fillBoardCalibrations(result.boards_calibration);
          if (!result.accepted && result.repeat_phase) {
            askRepeat(result.repeat_phase, result.reason);
            return;
          }
          out.setAttribute("data-accepted", result.accepted ? "true" : "false");
          say(out, result.accepted ? "\u2713 Accepted: insoles calibrated to body weight."
            : "\u2717 Rejected: " + result.reason, result.accepted);
          if (result.accepted) {
            byId("calib-say").textContent = "Done.";
            next.textContent = "Done";
            wizard.index = PHASES.length;
          } else {  // the phases together do not fit: all three again
            PHASES.forEach(function (p) { phaseState(p, "todo"); });
            wizard.index = 0;
            byId("calib-say").textContent = "All three phases again, please.";
            next.textContent = "Start again: both feet";
          }
        });
      }).catch(function (err) {
        phaseState(phase, "todo");
        say(out, err.message, false);
      }).then(function () {
        wizard.busy = false;
        next.disabled = wizard.index >= PHASES.length;
        api("PUT", "/api/rig/calibration/insoles/asked", {phase: null}).catch(function () {});
      });
    });
  });

  /* ------------------------------------------------------------------ 3. exercise, targets */
  var exerciseButtons = byId("exercise-buttons").querySelectorAll("button[data-exercise]");
  var selectedExercise = null;

  function markExercise(exercise) {
    selectedExercise = exercise;
    exerciseButtons.forEach(function (b) {
      b.setAttribute("aria-checked", b.getAttribute("data-exercise") === exercise ? "true" : "false");
    });
    byId("shift-field").hidden = exercise !== "weight_shift";
    byId("limit-field").classList.toggle("required", exercise === "partial_weight_bearing");
  }

  exerciseButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      api("PUT", "/api/rig/exercise", {exercise: button.getAttribute("data-exercise")})
        .then(useRig)
        .then(function () { say(byId("targets-result"), ""); })
        .catch(function (err) { say(byId("targets-result"), err.message, false); });
    });
  });

  function unit() {
    var checked = byId("target-unit").querySelector("input:checked");
    return checked ? checked.value : "pct_bw";
  }

  function fillTargets() {
    if (!rig) return;
    var t = rig.targets, u = unit();
    var suffix = u === "kg" ? "_kg" : "_pct_bw";
    function put(id, name) {
      var v = t[name + suffix];
      byId(id).value = isNum(v) ? String(Math.round(v * 10) / 10) : "";
    }
    put("band-low", "band_low");
    put("band-high", "band_high");
    put("limit", "limit");
    put("max-hand", "max_hand_support");
    byId("shift-period").value = t.shift_period_s;
    byId("targets-form").querySelectorAll(".unit").forEach(function (el) {
      el.textContent = u === "kg" ? "kg" : "% BW";
    });
    byId("targets-now").textContent = describeTargets(t);
  }

  function describeTargets(t) {
    function both(name) {
      var pct = t[name + "_pct_bw"], kg = t[name + "_kg"];
      return isNum(pct) ? Math.round(pct) + " % BW (" + kg + " kg)" : "none";
    }
    return "Now: band " + Math.round(t.band_low_pct_bw) + "\u2013" +
      Math.round(t.band_high_pct_bw) + " % BW (" + t.band_low_kg + "\u2013" + t.band_high_kg +
      " kg)" +
      " \u00b7 limit " + both("limit") + " \u00b7 hands max " + both("max_hand_support");
  }

  /** The rig's targets into the form, in the unit they were set in, unless the therapist is
   *  editing the form in this tab (then only the "Now:" line). */
  function syncTargets() {
    if (!rig) return;
    var editing = byId("targets-form").contains(document.activeElement) &&
      document.activeElement !== document.body;
    if (editing) { byId("targets-now").textContent = describeTargets(rig.targets); return; }
    byId("target-unit").querySelectorAll("input").forEach(function (radio) {
      radio.checked = radio.value === (rig.targets.unit || "pct_bw");
    });
    fillTargets();
  }

  byId("target-unit").addEventListener("change", fillTargets);

  byId("targets-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var out = byId("targets-result");
    var body = {
      unit: unit(),
      band_low: numberOrNull(byId("band-low")),
      band_high: numberOrNull(byId("band-high")),
      limit: numberOrNull(byId("limit")),
      max_hand_support: numberOrNull(byId("max-hand")),
      shift_period_s: numberOrNull(byId("shift-period")) || 5
    };
    if (body.band_low === null || body.band_high === null) {
      say(out, "Enter both ends of the band.", false);
      return;
    }
    if (selectedExercise === "partial_weight_bearing" && body.limit === null) {
      say(out, "Partial weight bearing needs a safety limit.", false);
      return;
    }
    api("PUT", "/api/rig/targets", body).then(function (state) {
      useRig(state);
      fillTargets();
      say(out, "\u2713 Targets set.", true);
    }).catch(function (err) { say(out, err.message, false); });
  });

  /* ------------------------------------------------------------------ feedback */
  function fillFeedback(fb) {
    if (!fb) return;
    ["visual", "tone", "counter"].forEach(function (key) {
      var box = byId("fb-" + key);
      if (document.activeElement !== box) box.checked = !!fb[key];
    });
    var mute = byId("fb-mute");
    mute.setAttribute("aria-pressed", fb.muted ? "true" : "false");
    C.setText(mute, fb.muted ? "\uD83D\uDD07 Tone muted \u2013 unmute" : "Mute tone");
    var volume = byId("fb-volume");
    if (document.activeElement !== volume) volume.value = fb.volume_pct;
    var mode = byId("fb-mode"), every = byId("fb-fade-every");
    if (document.activeElement !== mode) mode.value = fb.mode || "full";
    if (document.activeElement !== every) every.value = fb.fade_every_n || 2;
    every.disabled = (fb.mode || "full") !== "faded";
  }

  function putFeedback(change) {
    api("PUT", "/api/rig/feedback", change).then(useRig).catch(function (err) {
      say(byId("trial-result"), err.message, false);
    });
  }

  byId("feedback-switches").querySelectorAll("input[data-key]").forEach(function (box) {
    box.addEventListener("change", function () {
      var change = {};
      change[box.getAttribute("data-key")] = box.checked;
      putFeedback(change);
    });
  });
  byId("fb-mute").addEventListener("click", function () {
    putFeedback({muted: byId("fb-mute").getAttribute("aria-pressed") !== "true"});
  });
  byId("fb-volume").addEventListener("change", function () {
    putFeedback({volume_pct: Number(byId("fb-volume").value)});
  });
  byId("fb-mode").addEventListener("change", function () {
    putFeedback({mode: byId("fb-mode").value});
  });
  byId("fb-fade-every").addEventListener("change", function () {
    var n = Math.round(Number(byId("fb-fade-every").value));
    if (n >= 1 && n <= 20) putFeedback({fade_every_n: n});
  });

  /* ------------------------------------------------------------------ 4. trial */
  var trialOut = byId("trial-result");

  /* ---------------------------------------------- the visit: session and shoes worn */
  function fillVisit(state) {
    var visit = state.session;
    var text = byId("visit-session");
    if (visit) {
      text.textContent = "Session #" + visit.id + " open since " +
        new Date(visit.started_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) +
        ": every trial is stored in it.";
    } else {
      text.textContent = state.patient && state.patient.patient_id
        ? "Session ended. Starting a trial opens today\u2019s session again."
        : "No patient from the records: trials are stored as unassigned (assign them in the records).";
    }
    byId("session-end").hidden = !visit;
    var same = byId("footwear-same");
    same.hidden = !state.footwear_last || state.footwear === state.footwear_last;
    same.textContent = "Same shoes as last time: " + (state.footwear_last || "");
    byId("footwear-now").textContent = state.footwear
      ? "\u2713 Shoes: " + state.footwear : "Shoes not confirmed yet.";
    byId("footwear-form").setAttribute("data-confirmed", state.footwear ? "true" : "false");
  }

  function confirmShoes(text) {
    return api("PUT", "/api/rig/footwear", {footwear: text}).then(useRig)
      .catch(function (err) { say(byId("footwear-now"), err.message, false); });
  }

  byId("footwear-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = byId("footwear-input").value.trim();
    if (!text) { say(byId("footwear-now"), "Type the shoes the patient wears.", false); return; }
    confirmShoes(text);
  });
  byId("footwear-same").addEventListener("click", function () {
    if (rig && rig.footwear_last) confirmShoes(rig.footwear_last);
  });
  byId("session-end").addEventListener("click", function () {
    api("POST", "/api/rig/session/end").then(function (state) {
      useRig(state);
      say(trialOut, "\u2713 Session ended: it is in the patient\u2019s records.", true);
    }).catch(function (err) { say(trialOut, err.message, false); });
  });

  byId("trial-start").addEventListener("click", function () {
    if (rig && rig.patient && rig.patient.patient_id && !rig.footwear) {
      // Footwear changes the prosthesis' alignment: every trial of a patient records the shoes.
      say(trialOut, "Which shoes is the patient wearing? Confirm them below, then start.", false);
      byId("footwear-input").focus();
      return;
    }
    api("POST", "/api/rig/trial", {exercise: selectedExercise}).then(function (state) {
      useRig(state);
      byId("mark-list").textContent = "";
      byId("summary").hidden = true;
      say(trialOut, "\u25CF Trial " + state.trial.id + " started.", true);
    }).catch(function (err) { say(trialOut, err.message, false); });
  });

  byId("trial-pause").addEventListener("click", function () {
    var resume = byId("trial-pause").textContent === "Resume";
    api("POST", "/api/rig/trial/" + (resume ? "resume" : "pause")).then(useRig)
      .catch(function (err) { say(trialOut, err.message, false); });
  });

  byId("trial-stop").addEventListener("click", function () {
    api("POST", "/api/rig/trial/stop").then(function (summary) {
      say(trialOut, "\u25A0 Trial " + summary.trial_id + " stopped.", true);
      showSummary(summary, true);
    }).catch(function (err) { say(trialOut, err.message, false); });
  });

  byId("mark-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var note = byId("mark-note").value.trim();
    if (!note) { say(trialOut, "Write a short note for the mark.", false); return; }
    api("POST", "/api/rig/trial/mark", {note: note}).then(function (mark) {
      var li = document.createElement("li");
      li.textContent = mark.elapsed_s.toFixed(1) + " s \u2013 " + mark.note;
      byId("mark-list").appendChild(li);
      byId("mark-note").value = "";
    }).catch(function (err) { say(trialOut, err.message, false); });
  });

  function showSummary(s, checkStored) {
    function set(id, text) { byId(id).textContent = text; }
    function num(v, unit) { return isNum(v) ? v.toFixed(1) + (unit || "") : "\u2013"; }
    set("summary-steps", String(s.steps));
    set("summary-on-target", s.steps_on_target + " of " + s.steps +
      (s.steps ? " (" + Math.round(100 * s.steps_on_target / s.steps) + " %)" : ""));
    set("summary-symmetry", num(s.stance_symmetry_index_pct, " %"));
    set("summary-load-symmetry", num(s.peak_load_symmetry_index_pct, " %"));
    set("summary-bars", num(s.bar_reliance_mean_pct_bw) + " / " + num(s.bar_reliance_peak_pct_bw));
    var c = s.compliance || {};
    var all = c.all || {};
    set("summary-compliance", !all.steps ? "no judged steps" :
      all.pct_in_band.toFixed(0) + " % in band (" + all.in_band + " of " + all.steps + ")" +
      (isNum(all.over_limit) ? ", " + all.over_limit + " over the limit, " +
        all.over_150pct_limit + " over 150 % of it" : "") +
      ", peak " + num(all.peak_of_peaks_pct_bw, " % BW"));
    var fbMode = (s.feedback || {}).mode || "full";
    function pctOf(part) { return part && part.steps ? part.pct_in_band.toFixed(0) + " %" +
      " of " + part.steps : "no steps"; }
    set("summary-fading", (fbMode === "faded" ? "faded (every " + s.feedback.fade_every_n +
      ". step)" : fbMode) + ": with " + pctOf(c.with_feedback) + ", without " +
      pctOf(c.without_feedback));
    var overLimit = (s.alarms || []).filter(function (a) { return a.kind === "over_limit"; });
    set("summary-alarms", (s.alarms || []).length ? s.alarms.length + " (" + overLimit.length +
      " over the limit, " + (s.alarms.length - overLimit.length) + " hand support)" : "none");
    set("summary-duration", isNum(s.duration_s) ? s.duration_s.toFixed(0) + " s" : "\u2013");
    set("summary-marks", (s.marks || []).map(function (m) {
      return m.elapsed_s.toFixed(1) + " s " + m.note;
    }).join("; ") || "none");
    // what belongs to stepping exercises only is not shown for the others (issue 13)
    var stepping = s.exercise === "walking" || s.exercise === "partial_weight_bearing";
    ["summary-steps", "summary-on-target", "summary-symmetry", "summary-load-symmetry",
     "summary-compliance", "summary-fading"].forEach(function (id) {
      byId(id).parentNode.hidden = !stepping;
    });
    byId("summary").setAttribute("data-exercise", s.exercise || "");
    var results = byId("summary-results");
    results.removeAttribute("data-loaded");
    results.setAttribute("data-exercise", s.exercise || "");
    results.textContent = "Shown once the trial is saved.";
    if (!checkStored) showResults(s.trial_id, results);
    var stored = byId("summary-stored");
    stored.setAttribute("data-stored", "");
    stored.textContent = "trial " + s.trial_id;
    byId("summary").hidden = false;
    byId("summary").setAttribute("data-trial-id", String(s.trial_id));
    if (!checkStored) return;
    waitStored(s.trial_id, stored, Date.now() + STORE_WAIT_MS);
  }

  /** The exercise's own results from the stored analysis (rig/exercise_results.py). */
  function showResults(trialId, container, deadlineMs) {
    deadlineMs = deadlineMs || Date.now() + STORE_WAIT_MS;
    api("GET", "/api/trials/" + trialId + "/results").then(function (r) {
      if (!r.analysed && Date.now() < deadlineMs) {  // stored, its analysis still running
        container.textContent = "Analysing the recording\u2026";
        window.setTimeout(function () { showResults(trialId, container, deadlineMs); }, 500);
        return;
      }
      if (!r.analysed) { container.textContent = "The trial has no stored analysis."; return; }
      window.GaitResults.render(container, r);
    }).catch(function (err) {
      container.textContent = "Results not available: " + err.message;
    });
  }

  /** Poll the trial's record until the recorder has stored it (ended, recording finished). */
  function waitStored(trialId, stored, deadlineMs) {
    api("GET", "/api/trials/" + trialId).then(function (t) {
      var done = t.ended_at && t.recording_status !== "recording";
      if (!done && Date.now() < deadlineMs) {
        stored.textContent = "saving trial " + trialId + "\u2026";
        window.setTimeout(function () { waitStored(trialId, stored, deadlineMs); }, 500);
        return;
      }
      stored.setAttribute("data-stored", done ? "true" : "false");
      stored.setAttribute("data-recording", t.recording_status || "");
      if (done) showResults(trialId, byId("summary-results"));
      stored.textContent = done ? "\u2713 saved as trial " + trialId + " (recording " +
        t.recording_status + ", " + (t.alarms || []).length + " alarms)"
        : "\u2717 trial " + trialId + " is not stored yet";
    }).catch(function (err) {
      stored.setAttribute("data-stored", "false");
      stored.textContent = "could not check the records: " + err.message;
    });
  }

  /* ------------------------------------------------------------------ start */
  C.onMessage(function (msg) {
    if (msg.feedback) fillFeedback(msg.feedback);
    if (msg.exercise && msg.exercise !== selectedExercise) markExercise(msg.exercise);
    if (rig && typeof msg.controls_version === "number" &&
        (msg.controls_version !== rigVersion || msg.server_instance !== rig.server.instance) &&
        Date.now() - refreshFailedMs > REFRESH_RETRY_MS) refresh();
  });

  api("GET", "/api/amputation-levels").then(fillLevels)
    .catch(function (err) { say(byId("patient-result"), err.message, false); });
  api("GET", "/api/rig").then(function (state) {
    useRig(state);
    fillPatientForm(state.patient);
    fillTargets();
  }).catch(function (err) { say(byId("patient-result"), err.message, false); });
  search();
  resetWizard();

  window.gaitControls = {api: api, showSummary: showSummary, refresh: refresh};
})();
