/*
 * Patient display: one bar per leg with the weight on that foot in % body weight.
 *
 * Rendering: messages only store the newest state; a requestAnimationFrame loop moves the
 * displayed value toward it (display-only exponential smoothing, time constant TAU_MS) and writes
 * to the DOM only what changed: bar transforms (scaleY / translateY, no layout), the big number
 * when its rounded value changes, the band state when it changes. The band state (colour, word,
 * stripes) is judged on the displayed value, so the cue always agrees with the bar as drawn.
 *
 * Hooks for tests (see tests/browser/test_browser_pages.py):
 *   #display[data-connection]       connecting | live | reconnecting | stale | no-signal
 *   #display[data-seq]              seq of the newest message applied to the page
 *   #left-leg / #right-leg          data-value-pct-bw     last received % body weight ("" if null)
 *                                   data-signal           live | lost (its insole is stale:
 *                                                         greyed, "No signal from the left
 *                                                         insole", no tone), and
 *                                                         data-signal-changed-ms (wall ms)
 *                                   data-displayed-pct-bw value shown now (1 decimal, "" if null)
 *                                   data-band-state       none | below | in | above (of the
 *                                                         displayed value against the band)
 *                                   data-prosthetic       true | false
 *   #left-bar-fill / #right-bar-fill  the fill, scaled from the bottom of #<side>-bar-track
 *   #left-value-number / ...          the big number
 *   #hands[data-value-pct-bw][data-displayed-pct-bw], #bars-pct-bw   weight on both bars
 */
(function () {
  "use strict";

  var SCALE_MAX_PCT = 120;     // % body weight at the top of each bar
  var HANDS_SCALE_MAX_PCT = 50; // % body weight at the end of the hands meter
  var TAU_MS = 65;             // display smoothing time constant
  var SNAP_PCT = 0.25;         // closer than this to the newest value: show it exactly
  var STALE_MS = 1000;         // socket open but nothing received for this long: not live
  var SIGNAL_LOST_S = 0.5;     // newest sample older than this (server clock): sensors silent
  var DEVICE_STALE_S = 0.5;    // a board whose last frame is older than this needs attention

  var isNum = GaitLive.isNum;
  var sideBand = GaitLive.sideBand;

  function byId(id) { return document.getElementById(id); }

  function clamp(x, lo, hi) { return x < lo ? lo : x > hi ? hi : x; }

  /** Exponential approach of `shown` toward `target` over `dtMs`. */
  function approach(shown, target, dtMs) {
    var next = shown + (target - shown) * (1 - Math.exp(-dtMs / TAU_MS));
    return Math.abs(target - next) < SNAP_PCT ? target : next;
  }

  var FEEDBACK = {
    none:  { symbol: "",       text: "",     hint: "" },
    below: { symbol: "\u25B2", text: "MORE", hint: "More weight on this leg" },
    in:    { symbol: "\u2713", text: "GOOD", hint: "Keep it there" },
    above: { symbol: "\u25BC", text: "LESS", hint: "Less weight on this leg" },
    alarm: { symbol: "\u26A0", text: "STOP", hint: "Over the safety limit \u2013 take weight off" },
    // Walking and partial weight bearing: one verdict per prosthetic step (steps.judged),
    // kept until the next step, so the word does not flicker with the load within a stance.
    good:     { symbol: "\u2713", text: "GOOD STEP",  hint: "Keep stepping like that" },
    more:     { symbol: "\u25B2", text: "A BIT MORE", hint: "A little more weight next step" },
    too_much: { symbol: "\u25BC", text: "TOO MUCH",   hint: "A little less weight next step" }
  };
  /* Exercises judged per step (issue 13); the others keep the continuous bar and word. */
  var PER_STEP_EXERCISES = {walking: true, partial_weight_bearing: true};

  /** The per-step cue of this message: null (continuous feedback), "none" (no verdict to show
   *  yet, or a step the feedback fading leaves without one), or the verdict. */
  function stepCueOf(msg) {
    if (!PER_STEP_EXERCISES[msg.exercise] || !msg.steps) return null;
    var fb = msg.feedback || {};
    var judged = msg.steps.judged;
    if (fb.mode === "off" || !judged || !judged.verdict || judged.feedback_shown === false) {
      return "none";
    }
    return judged.verdict;
  }

  function Leg(side) {
    this.side = side;
    this.root = byId(side + "-leg");
    this.fill = byId(side + "-bar-fill");
    this.stripes = byId(side + "-bar-stripes");
    this.band = byId(side + "-bar-band");
    this.bandZone = byId(side + "-bar-band-zone");
    this.badge = byId(side + "-prosthesis-badge");
    this.noSignal = byId(side + "-no-signal");
    this.signalLost = null;  // the server marks this foot's insole stale (a reason), or not
    this.limit = byId(side + "-bar-limit");
    this.number = byId(side + "-value-number");
    var feedback = byId(side + "-feedback");
    this.feedbackSymbol = feedback.querySelector(".feedback-symbol");
    this.feedbackText = feedback.querySelector(".feedback-text");
    this.feedbackHint = feedback.querySelector(".feedback-hint");

    this.target = null;      // newest received % body weight, or null
    this.bandRange = null;   // [low, high] % body weight, or null when no target is set
    this.shown = null;       // displayed (smoothed) % body weight, or null
    this.drawn = {fraction: -1, text: null, valueAttr: null, displayedAttr: null, bandState: null,
                  overScale: null, bandKey: null, prosthetic: null, limitKey: null,
                  alarm: null};
    this.alarm = false;      // the server says this leg is over its safety limit
    this.stepCue = null;     // per-step verdict shown instead of the instantaneous word
  }

  /** Apply the newest message's values for this leg (called once per new message). */
  Leg.prototype.receive = function (valuePct, band, limitPct, alarm) {
    var limitKey = isNum(limitPct) ? String(limitPct) : "";
    if (limitKey !== this.drawn.limitKey) {
      this.drawn.limitKey = limitKey;
      if (limitKey) {
        this.limit.style.bottom = clamp(limitPct, 0, SCALE_MAX_PCT) / SCALE_MAX_PCT * 100 + "%";
      }
      this.limit.hidden = !limitKey;
    }
    this.alarm = !!alarm;
    this.target = isNum(valuePct) ? valuePct : null;
    if (this.target === null) {
      this.shown = null;
    } else if (this.shown === null) {
      this.shown = this.target;   // first value after a gap: no sweep up from zero
    }
    var valueAttr = this.target === null ? "" : String(this.target);
    if (valueAttr !== this.drawn.valueAttr) {
      this.drawn.valueAttr = valueAttr;
      this.root.setAttribute("data-value-pct-bw", valueAttr);
    }

    var bandValid = band && isNum(band[0]) && isNum(band[1]) && band[1] > band[0];
    var key = bandValid ? band[0] + "-" + band[1] : "";
    if (key !== this.drawn.bandKey) {
      this.drawn.bandKey = key;
      if (bandValid) {
        var lo = clamp(band[0], 0, SCALE_MAX_PCT);
        var hi = clamp(band[1], 0, SCALE_MAX_PCT);
        var bottomPct = lo / SCALE_MAX_PCT * 100;
        var heightPct = (hi - lo) / SCALE_MAX_PCT * 100;
        this.bandZone.style.bottom = bottomPct + "%";
        this.bandZone.style.height = heightPct + "%";
        // The bracket lines (0.7vh thick) are centred on the band's edges.
        this.band.style.bottom = "calc(" + bottomPct + "% - 0.35vh)";
        this.band.style.height = "calc(" + heightPct + "% + 0.7vh)";
        this.band.hidden = this.bandZone.hidden = false;
      } else {
        this.band.hidden = this.bandZone.hidden = true;
      }
    }

    this.bandRange = bandValid ? [band[0], band[1]] : null;
  };

  /** The server's `<side>_foot_unavailable` (a reason, or null): the bar is greyed and hatched
   *  and says "No signal from the left insole" while it lasts. The change is stamped on the
   *  wall clock (`data-signal-changed-ms`: performance.timeOrigin + now) for the tests. */
  Leg.prototype.setSignal = function (reason) {
    var lost = typeof reason === "string" && reason !== "";
    if (lost === this.signalLost) return;
    this.signalLost = lost;
    this.root.setAttribute("data-signal", lost ? "lost" : "live");
    this.root.setAttribute("data-signal-changed-ms",
      String(window.performance.timeOrigin + window.performance.now()));
    this.noSignal.hidden = !lost;
  };

  Leg.prototype.setProsthetic = function (isProsthetic) {
    if (isProsthetic === this.drawn.prosthetic) return;
    this.drawn.prosthetic = isProsthetic;
    this.root.setAttribute("data-prosthetic", isProsthetic ? "true" : "false");
    this.badge.hidden = !isProsthetic;
  };

  /** Advance the smoothing by dtMs and write whatever changed. */
  Leg.prototype.render = function (dtMs) {
    if (this.target !== null) {
      // Over the safety limit the bar and number show the load as it is, unsmoothed: the STOP
      // cue must never sit beside a number under the limit.
      this.shown = this.alarm ? this.target : approach(this.shown, this.target, dtMs);
    }
    var shown = this.shown;
    var d = this.drawn;

    var fraction = shown === null ? 0 : clamp(shown / SCALE_MAX_PCT, 0, 1);
    if (Math.abs(fraction - d.fraction) > 0.0004 ||
        (fraction !== d.fraction && (fraction === 0 || fraction === 1))) {
      d.fraction = fraction;
      this.fill.style.transform = "scaleY(" + fraction.toFixed(4) + ")";
      this.stripes.style.transform = "translateY(" + ((1 - fraction) * 100).toFixed(2) + "%)";
    }

    var text = shown === null ? "\u2013" : String(Math.max(0, Math.round(shown)));
    if (text !== d.text) {
      d.text = text;
      this.number.textContent = text;
    }

    var displayedAttr = shown === null ? "" : shown.toFixed(1);
    if (displayedAttr !== d.displayedAttr) {
      d.displayedAttr = displayedAttr;
      this.root.setAttribute("data-displayed-pct-bw", displayedAttr);
    }

    // The cue follows the bar as drawn (the smoothed value), so colour, word and the bar's
    // position against the band always agree on the screen.
    var state = "none";
    if (this.bandRange !== null && shown !== null) {
      state = shown < this.bandRange[0] ? "below" : shown > this.bandRange[1] ? "above" : "in";
    }
    if (state !== d.bandState) {
      d.bandState = state;
      this.root.setAttribute("data-band-state", state);
    }
    var cueKey = this.alarm ? "alarm" : this.stepCue !== null ? this.stepCue : state;
    if (cueKey !== d.cue) {
      d.cue = cueKey;
      this.root.setAttribute("data-cue", cueKey);
      var cue = FEEDBACK[cueKey];
      this.feedbackSymbol.textContent = cue.symbol;
      this.feedbackText.textContent = cue.text;
      this.feedbackHint.textContent = cue.hint;
    }

    if (this.alarm !== d.alarm) {
      d.alarm = this.alarm;
      this.root.setAttribute("data-alarm", this.alarm ? "true" : "false");
    }

    var overScale = shown !== null && shown > SCALE_MAX_PCT;
    if (overScale !== d.overScale) {
      d.overScale = overScale;
      this.root.setAttribute("data-over-scale", overScale ? "true" : "false");
    }
  };

  /* ------------------------------------------------------------------ hands on bars */
  var hands = {
    root: byId("hands"),
    meter: byId("hands-meter-fill"),
    number: byId("bars-pct-bw"),
    target: null,
    shown: null,
    drawn: {fraction: -1, text: null, displayedAttr: null},
    limitEl: byId("hands-limit"),
    limitKey: null,
    alarmDrawn: null,
    receive: function (valuePct, maxPct, alarm) {
      var key = isNum(maxPct) ? String(maxPct) : "";
      if (key !== this.limitKey) {
        this.limitKey = key;
        this.limitEl.hidden = !key;
        this.limitEl.textContent = key ? "max " + Math.round(maxPct) + " %" : "";
      }
      if (!!alarm !== this.alarmDrawn) {
        this.alarmDrawn = !!alarm;
        this.root.setAttribute("data-alarm", alarm ? "true" : "false");
      }
      this.target = isNum(valuePct) ? valuePct : null;
      if (this.target === null) this.shown = null;
      else if (this.shown === null) this.shown = this.target;
      this.root.setAttribute("data-value-pct-bw", this.target === null ? "" : String(this.target));
    },
    render: function (dtMs) {
      if (this.target !== null) this.shown = approach(this.shown, this.target, dtMs);
      var fraction = this.shown === null ? 0 : clamp(this.shown / HANDS_SCALE_MAX_PCT, 0, 1);
      if (Math.abs(fraction - this.drawn.fraction) > 0.001 ||
          (fraction !== this.drawn.fraction && (fraction === 0 || fraction === 1))) {
        this.drawn.fraction = fraction;
        this.meter.style.transform = "scaleX(" + fraction.toFixed(4) + ")";
      }
      var text = this.shown === null ? "\u2013" : String(Math.max(0, Math.round(this.shown)));
      if (text !== this.drawn.text) {
        this.drawn.text = text;
        this.number.textContent = text;
      }
      var displayedAttr = this.shown === null ? "" : this.shown.toFixed(1);
      if (displayedAttr !== this.drawn.displayedAttr) {
        this.drawn.displayedAttr = displayedAttr;
        this.root.setAttribute("data-displayed-pct-bw", displayedAttr);
      }
    }
  };

  /* ------------------------------------------------------------------ connection state */
  var root = byId("display");
  var statusEl = byId("connection-status");
  var statusText = statusEl.querySelector(".status-text");
  var overlay = byId("connection-overlay");
  var overlayTitle = byId("connection-overlay-title");
  var overlayText = byId("connection-overlay-text");
  var patientName = byId("patient-name");

  var CONNECTION = {
    connecting:   {pill: "Connecting\u2026", title: "Connecting\u2026",
                   text: "Starting the live display.", overlay: true},
    live:         {pill: "Live", overlay: false},
    warning:      {pill: "Check sensors", overlay: false},
    reconnecting: {pill: "Reconnecting\u2026", title: "Reconnecting\u2026",
                   text: "Please wait \u2013 the numbers are paused.", overlay: true},
    stale:        {pill: "Waiting for data\u2026", title: "Waiting for data\u2026",
                   text: "Please wait \u2013 the numbers are paused.", overlay: true},
    "no-signal":  {pill: "No sensor signal", title: "No sensor signal",
                   text: "Please wait for your therapist.", overlay: true},
    "no-rig":     {pill: "No rig", title: "No rig on this server",
                   text: "This is the clinic's history server: no boards are attached.",
                   overlay: true}
  };
  var drawnConnection = null;
  var drawnPill = null;

  function connectionState(live, msg) {
    if (live.status === "reconnecting" || live.status === "closed") return "reconnecting";
    if (!msg) return "connecting";
    if (msg.live_rig === false) return "no-rig";
    if (live.ageMs() > STALE_MS) return "stale";
    if (!isNum(msg.sample_time_s) ||
        (isNum(msg.server_time_s) && msg.server_time_s - msg.sample_time_s > SIGNAL_LOST_S)) {
      return "no-signal";
    }
    return "live";
  }

  function devicesNeedAttention(msg) {
    var devices = (msg && msg.devices) || [];
    for (var i = 0; i < devices.length; i++) {
      var dev = devices[i];
      if (!dev.connected) return true;
      if (isNum(dev.last_frame_age_s) && dev.last_frame_age_s > DEVICE_STALE_S) return true;
    }
    return false;
  }

  function renderConnection(state, msg) {
    if (state !== drawnConnection) {
      drawnConnection = state;
      root.setAttribute("data-connection", state);
      var info = CONNECTION[state];
      overlay.hidden = !info.overlay;
      if (info.overlay) {
        overlayTitle.textContent = info.title;
        overlayText.textContent = info.text;
      }
    }
    var pill = state === "live" && devicesNeedAttention(msg) ? "warning" : state;
    if (pill !== drawnPill) {
      drawnPill = pill;
      statusEl.setAttribute("data-state", pill);
      statusText.textContent = CONNECTION[pill].pill;
    }
  }

  /* ------------------------------------------------------------------ alarm, counter, wins */
  /* The insole calibration's postures, as the patient reads them. */
  var PHASE_TEXT = {
    both: "Stand still on both feet",
    left: "Stand on your LEFT foot only",
    right: "Stand on your RIGHT foot only"
  };
  var ALARM_TEXT = {
    over_limit: "STOP – too much weight on the prosthesis",
    hand_support: "Less weight on your hands"
  };
  var MILESTONE_SHOW_MS = 4000;

  var feedbackView = {
    alarmEl: byId("alarm"),
    alarmText: byId("alarm-text"),
    counter: byId("step-counter"),
    good: byId("steps-on-target"),
    total: byId("steps-total"),
    instructionEl: byId("instruction"),
    instructionText: byId("instruction-text"),
    milestoneEl: byId("milestone"),
    milestoneText: byId("milestone-text"),
    drawn: {alarm: null, counter: null, good: null, total: null, visual: null, milestone: null,
            phase: null},
    milestoneUntilMs: 0,
    /** Alarm banner, good-step counter, encouragement and the visual switch, per message. */
    apply: function (msg, alarm) {
      var d = this.drawn;
      var kinds = alarm.kinds || [];
      var kind = kinds.indexOf("over_limit") >= 0 ? "over_limit" : kinds[0] || "";
      var alarmKey = alarm.active ? kind : "";
      if (alarmKey !== d.alarm) {
        d.alarm = alarmKey;
        this.alarmEl.hidden = !alarmKey;
        this.alarmEl.setAttribute("data-kind", alarmKey);
        this.alarmText.textContent = ALARM_TEXT[alarmKey] || "STOP";
        root.setAttribute("data-alarm", alarmKey || "none");
        if (alarmKey) {
          alarmLog.push({since_s: alarm.since_s, kind: alarmKey, seq: msg.seq,
                         server_time_s: msg.server_time_s, received_ms: msg._receivedMs});
        }
      }
      var fb = msg.feedback || {};
      var visual = fb.visual === false ? "off" : "on";
      if (visual !== d.visual) {
        d.visual = visual;
        root.setAttribute("data-visual", visual);
      }
      var steps = msg.steps;
      var showCounter = fb.counter !== false && !!steps;
      if (showCounter !== d.counter) {
        d.counter = showCounter;
        this.counter.hidden = !showCounter;
      }
      if (steps) {
        var good = String(steps.on_target), total = String(steps.total);
        if (good !== d.good) { d.good = good; this.good.textContent = good; }
        if (total !== d.total) { d.total = total; this.total.textContent = total; }
      }
      var phase = msg.calibration_phase || null;
      if (phase !== d.phase) {  // the insole calibration asks for a posture: in words
        d.phase = phase;
        this.instructionEl.hidden = !phase;
        this.instructionText.textContent = PHASE_TEXT[phase] || "";
      }
      var m = msg.milestone;
      var mKey = m ? String(m.id) : null;
      if (mKey !== d.milestone) {
        var first = this.seenAny !== true;  // opened mid-trial: no stale cheer
        d.milestone = mKey;
        if (m && !first) {
          this.milestoneText.textContent = m.text;
          this.milestoneEl.hidden = false;
          this.milestoneUntilMs = window.performance.now() + MILESTONE_SHOW_MS;
        }
      }
      this.seenAny = true;
    },
    render: function (nowMs) {
      if (!this.milestoneEl.hidden && nowMs > this.milestoneUntilMs) this.milestoneEl.hidden = true;
    }
  };

  /* Rendered alarm onsets, stamped on the wall clock (for the end-to-end latency test). */
  var alarmLog = [];

  /* Each judged step as the display gave it (read by the tests): index, verdict, whether its
   * verdict was shown (feedback fading) and the tone played for it (Hz, null: none). */
  var stepLog = [];
  var stepFeedback = {
    lastKey: null, seen: false,
    apply: function (msg, stepCue) {
      if (stepCue === null) return;
      var firstSight = !this.seen;  // the page opened mid-trial: that step is not news
      this.seen = true;
      var judged = msg.steps.judged;
      var key = judged ? (msg.trial ? msg.trial.id : "") + ":" + judged.index : null;
      if (key === this.lastKey) return;
      this.lastKey = key;
      if (!judged || firstSight) return;
      var shown = stepCue !== "none";
      var hz = shown ? tone.stepTone(msg, judged) : null;
      stepLog.push({index: judged.index, verdict: judged.verdict, shown: shown,
                    peak_pct_bw: judged.peak_pct_bw, tone_hz: hz,
                    at_ms: window.performance.timeOrigin + window.performance.now()});
      if (stepLog.length > 500) stepLog.shift();
    }
  };

  /* ------------------------------------------------------------------ tone (Web Audio) */
  // Graph: a steady sine (in band) and a pulsed square (over the safety limit), each through its
  // own gain, into a master gain (volume; 0 when muted) and the speakers. Modes: "off" (tone
  // switched off or muted), "silent" (outside the band), "in_band", "alarm".
  var TONE_HZ = 523.25, ALARM_HZ = 880, PULSE_HZ = 4, RAMP_S = 0.015;
  // Per step (walking, partial weight bearing): a short tone at each judged step, graded by how
  // far its peak was from the band: a rising two-note chime for a good step; under the band a
  // low tone, lower the further off; over it a high one, higher the further off (a semitone per
  // 2.5 % BW, at most an octave). The STOP alarm stays the pulsed square.
  var STEP_TONE_S = 0.25, SEMITONE_PCT_BW = 2.5;
  var tone = {
    ctx: null, master: null, toneGain: null, alarmGain: null,
    mode: "off", masterTarget: 0,
    button: byId("sound"),
    buttonText: byId("sound-text"),
    init: function () {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = this.ctx = new Ctx();
      this.master = ctx.createGain();
      this.master.gain.value = 0;
      this.master.connect(ctx.destination);
      this.toneGain = ctx.createGain();
      this.toneGain.gain.value = 0;
      this.toneGain.connect(this.master);
      var sine = ctx.createOscillator();
      sine.type = "sine";
      sine.frequency.value = TONE_HZ;
      sine.connect(this.toneGain);
      sine.start();
      this.alarmGain = ctx.createGain();
      this.alarmGain.gain.value = 0;
      this.alarmGain.connect(this.master);
      var pulse = ctx.createGain();   // 0..1 at PULSE_HZ: beep-beep-beep
      pulse.gain.value = 0.5;
      pulse.connect(this.alarmGain);
      var lfo = ctx.createOscillator();
      lfo.type = "square";
      lfo.frequency.value = PULSE_HZ;
      var depth = ctx.createGain();
      depth.gain.value = 0.5;
      lfo.connect(depth);
      depth.connect(pulse.gain);
      lfo.start();
      var square = ctx.createOscillator();
      square.type = "square";
      square.frequency.value = ALARM_HZ;
      square.connect(pulse);
      square.start();
      this.stepGain = ctx.createGain();
      this.stepGain.gain.value = 0;
      this.stepGain.connect(this.master);
      this.stepOsc = ctx.createOscillator();
      this.stepOsc.type = "triangle";
      this.stepOsc.frequency.value = TONE_HZ;
      this.stepOsc.connect(this.stepGain);
      this.stepOsc.start();
      var self = this;
      this.button.addEventListener("click", function () { self.unlock(); });
      ctx.onstatechange = function () { self.drawButton(); };
    },
    unlock: function () {
      if (this.ctx && this.ctx.state !== "running") this.ctx.resume().catch(function () {});
    },
    set: function (param, value) {
      param.setTargetAtTime(value, this.ctx.currentTime, RAMP_S);
    },
    apply: function (msg, alarm) {
      if (!this.ctx) return;
      var fb = msg.feedback || {};
      var enabled = fb.tone !== false && fb.muted !== true;
      var mode = "off";
      if (enabled) {
        var side = msg.band_side;
        if (alarm.active && (alarm.kinds || []).indexOf("over_limit") >= 0) mode = "alarm";
        else if (side && msg[side + "_foot_unavailable"]) mode = "silent";  // no signal: no tone
        else if (stepCueOf(msg) !== null) mode = "per_step";  // a tone per step, not per sample
        else if (side && msg[side + "_in_band"] === true) mode = "in_band";
        else mode = "silent";
      }
      var master = enabled ? 0.5 * (isNum(fb.volume_pct) ? fb.volume_pct : 60) / 100 : 0;
      if (master !== this.masterTarget) {
        this.masterTarget = master;
        this.set(this.master.gain, master);
      }
      if (mode !== this.mode) {
        this.mode = mode;
        this.set(this.toneGain.gain, mode === "in_band" ? 0.6 : 0);
        this.set(this.alarmGain.gain, mode === "alarm" ? 1 : 0);
        this.drawButton();
      }
    },
    /** The graded tone of one judged step; returns its (first) pitch in Hz, null when silent. */
    stepTone: function (msg, judged) {
      var fb = msg.feedback || {};
      if (fb.tone === false || fb.muted === true) return null;
      var distance = isNum(judged.band_distance_pct_bw) ? judged.band_distance_pct_bw : 0;
      var semitones = clamp(distance / SEMITONE_PCT_BW, -12, 12);
      var hz = judged.verdict === "good" ? TONE_HZ
        : TONE_HZ * Math.pow(2, (semitones + (semitones < 0 ? -5 : 7)) / 12);
      if (!this.ctx) return hz;
      var t = this.ctx.currentTime, f = this.stepOsc.frequency, g = this.stepGain.gain;
      f.cancelScheduledValues(t);
      f.setValueAtTime(hz, t);
      if (judged.verdict === "good") f.setValueAtTime(hz * 1.5, t + STEP_TONE_S / 2);
      g.cancelScheduledValues(t);
      g.setTargetAtTime(0.7, t, RAMP_S);
      g.setTargetAtTime(0, t + STEP_TONE_S, RAMP_S);
      return hz;
    },
    drawButton: function () {
      var state = !this.ctx ? "unsupported" : this.ctx.state !== "running" ? "locked"
        : this.mode === "off" ? "off" : "on";
      this.button.setAttribute("data-mode", state);
      this.buttonText.textContent = state === "locked" ? "Tap for sound"
        : state === "on" ? "Sound on" : state === "off" ? "Sound off" : "No sound";
    },
    /** The audio graph as it is now (read by the tests). */
    snapshot: function () {
      if (!this.ctx) return null;
      return {context: this.ctx.state, mode: this.mode, master: this.master.gain.value,
              masterTarget: this.masterTarget, tone: this.toneGain.gain.value,
              alarm: this.alarmGain.gain.value};
    }
  };
  tone.init();
  tone.drawButton();

  /* ------------------------------------------------------------------ main loop */
  var legs = {left: new Leg("left"), right: new Leg("right")};
  var pending = null;        // newest message not yet applied
  var applied = null;        // newest message applied
  var drawnPatient = null;

  function applyMessage(msg) {
    var alarm = msg.alarm || {active: false, kinds: []};
    var kinds = alarm.kinds || [];
    var overLimit = kinds.indexOf("over_limit") >= 0;
    ["left", "right"].forEach(function (side) {
      var limit = msg[side + "_limit_pct_bw"];
      legs[side].receive(msg[side + "_foot_pct_bw"], sideBand(msg, side), limit,
        overLimit && isNum(limit));
      legs[side].setSignal(msg[side + "_foot_unavailable"]);
    });
    hands.receive(msg.bars_pct_bw, msg.targets ? msg.targets.max_hand_support_pct_bw : null,
      kinds.indexOf("hand_support") >= 0);
    var barsLost = typeof msg.bars_unavailable === "string";
    if (hands.root.getAttribute("data-signal") !== (barsLost ? "lost" : "live")) {
      hands.root.setAttribute("data-signal", barsLost ? "lost" : "live");
      byId("hands-no-signal").hidden = !barsLost;
    }
    var stepCue = stepCueOf(msg);
    var band = msg.band_side;
    ["left", "right"].forEach(function (side) {
      legs[side].stepCue = stepCue === null ? null : side === band ? stepCue : "none";
    });
    feedbackView.apply(msg, alarm);
    tone.apply(msg, alarm);
    stepFeedback.apply(msg, stepCue);

    var patient = msg.patient || {};
    var side = String(patient.prosthetic_side || "").toLowerCase();
    var both = side === "both" || side === "bilateral";
    legs.left.setProsthetic(both || side === "left");
    legs.right.setProsthetic(both || side === "right");
    var name = patient.display_name || "";
    if (name !== drawnPatient) {
      drawnPatient = name;
      patientName.textContent = name;
    }
    root.setAttribute("data-seq", String(msg.seq));
  }

  var live = GaitLive.connect({
    onMessage: function (msg) {
      msg._receivedMs = window.performance.timeOrigin + window.performance.now();  // wall ms
      pending = msg;
    }
  });

  var lastFrameMs = null;
  function frame(nowMs) {
    var dtMs = lastFrameMs === null ? 16 : Math.min(nowMs - lastFrameMs, 250);
    lastFrameMs = nowMs;
    if (pending !== null) {
      applied = pending;
      pending = null;
      applyMessage(applied);
    }
    legs.left.render(dtMs);
    legs.right.render(dtMs);
    hands.render(dtMs);
    feedbackView.render(nowMs);
    var pendingAlarm = alarmLog.length && alarmLog[alarmLog.length - 1].shown_ms === undefined;
    if (pendingAlarm) {
      // Stamped in the frame that paints the banner: performance.timeOrigin + now() is the wall
      // clock (ms since the epoch), which the test maps onto the server's monotonic clock.
      alarmLog[alarmLog.length - 1].shown_ms =
        window.performance.timeOrigin + window.performance.now();
    }
    renderConnection(connectionState(live, applied), applied);
    window.requestAnimationFrame(frame);
  }
  window.requestAnimationFrame(frame);

  /* ------------------------------------------------------------------ kiosk niceties */
  // Hide the mouse pointer when it rests; double-click or double-tap toggles full screen.
  var cursorTimer = null;
  function showCursor() {
    document.body.classList.remove("cursor-hidden");
    if (cursorTimer !== null) window.clearTimeout(cursorTimer);
    cursorTimer = window.setTimeout(function () {
      document.body.classList.add("cursor-hidden");
    }, 3000);
  }
  document.addEventListener("mousemove", showCursor, {passive: true});
  showCursor();

  document.addEventListener("dblclick", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(function () {});
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  });

  // Keep the screen awake while the page is shown (where the browser allows it).
  var wakeLock = null;
  function keepAwake() {
    if (!navigator.wakeLock || document.visibilityState !== "visible" || wakeLock) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () { /* not allowed here: fine */ });
  }
  document.addEventListener("visibilitychange", keepAwake);
  keepAwake();

  window.gaitDisplay = {live: live, legs: legs, hands: hands, tone: tone, alarmLog: alarmLog,
                       stepLog: stepLog};
})();
