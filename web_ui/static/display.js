/*
 * Patient display: one bar per leg with the weight on that foot in % body weight.
 *
 * Rendering: messages only store the newest state; a requestAnimationFrame loop moves the
 * displayed value toward it (display-only exponential smoothing, time constant TAU_MS) and writes
 * to the DOM only what changed: bar transforms (scaleY / translateY, no layout), the big number
 * when its rounded value changes, the band state when it changes. The band state (colour, word,
 * stripes) is judged on the displayed value, so the cue always agrees with the bar as drawn.
 *
 * Hooks for tests (see tests/test_browser_pages.py):
 *   #display[data-connection]       connecting | live | reconnecting | stale | no-signal
 *   #display[data-seq]              seq of the newest message applied to the page
 *   #left-leg / #right-leg          data-value-pct-bw     last received % body weight ("" if null)
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
    above: { symbol: "\u25BC", text: "LESS", hint: "Less weight on this leg" }
  };

  function Leg(side) {
    this.side = side;
    this.root = byId(side + "-leg");
    this.fill = byId(side + "-bar-fill");
    this.stripes = byId(side + "-bar-stripes");
    this.band = byId(side + "-bar-band");
    this.bandZone = byId(side + "-bar-band-zone");
    this.badge = byId(side + "-prosthesis-badge");
    this.number = byId(side + "-value-number");
    var feedback = byId(side + "-feedback");
    this.feedbackSymbol = feedback.querySelector(".feedback-symbol");
    this.feedbackText = feedback.querySelector(".feedback-text");
    this.feedbackHint = feedback.querySelector(".feedback-hint");

    this.target = null;      // newest received % body weight, or null
    this.bandRange = null;   // [low, high] % body weight, or null when no target is set
    this.shown = null;       // displayed (smoothed) % body weight, or null
    this.drawn = {fraction: -1, text: null, valueAttr: null, displayedAttr: null, bandState: null,
                  overScale: null, bandKey: null, prosthetic: null};
  }

  /** Apply the newest message's values for this leg (called once per new message). */
  Leg.prototype.receive = function (valuePct, band) {
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

  Leg.prototype.setProsthetic = function (isProsthetic) {
    if (isProsthetic === this.drawn.prosthetic) return;
    this.drawn.prosthetic = isProsthetic;
    this.root.setAttribute("data-prosthetic", isProsthetic ? "true" : "false");
    this.badge.hidden = !isProsthetic;
  };

  /** Advance the smoothing by dtMs and write whatever changed. */
  Leg.prototype.render = function (dtMs) {
    if (this.target !== null) this.shown = approach(this.shown, this.target, dtMs);
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
      var cue = FEEDBACK[state];
      this.feedbackSymbol.textContent = cue.symbol;
      this.feedbackText.textContent = cue.text;
      this.feedbackHint.textContent = cue.hint;
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
    receive: function (valuePct) {
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

  /* ------------------------------------------------------------------ main loop */
  var legs = {left: new Leg("left"), right: new Leg("right")};
  var pending = null;        // newest message not yet applied
  var applied = null;        // newest message applied
  var drawnPatient = null;

  function applyMessage(msg) {
    var band = msg.target_band_pct_bw;
    legs.left.receive(msg.left_foot_pct_bw, band);
    legs.right.receive(msg.right_foot_pct_bw, band);
    hands.receive(msg.bars_pct_bw);

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
    onMessage: function (msg) { pending = msg; }
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

  window.gaitDisplay = {live: live, legs: legs, hands: hands};
})();
