/*
 * Therapist console, live part: numbers for both feet and the bars, 10 s plots (uPlot) with the
 * band, the CoP trail on the insoles, the last steps, the trial's state, alarms and the boards'
 * health. The websocket delivers up to 60 messages per second; every message's sample goes into
 * the plot buffers, and the page redraws at most 20 times per second, writing only what changed.
 * The controls (REST) are in console-controls.js.
 *
 * Hooks for tests: #device-rows tr[data-role][data-connected][data-state] (ok | stale |
 * disconnected)[data-clock] (ok | implausible: drift over 1 %, not used),
 * #device-chips [data-role][data-state], #device-warning (hidden unless a board
 * is disconnected or silent > 0.5 s), #console[data-connection], #console[data-seq],
 * #tile-left-foot / #tile-right-foot / #tile-bars [data-signal] (live | lost: its board is stale,
 * the tile's chip says "No signal from the left insole"), #trial-card[data-state],
 * #steps-rows tr[data-on-target], #console-alarm,
 * #recording-warning (hidden unless the recorder cannot reach the database).
 */
(function () {
  "use strict";

  var REDRAW_MS = 50;
  var DEVICE_STALE_S = 0.5;    // a board whose newest frame is older than this is "not sending"
  var STALE_MS = 1000;         // no websocket message for this long: data not live
  var WINDOW_S = 10;           // the plots show the last 10 s
  var COP_TRAIL_S = 2;

  var fmt = GaitLive.fmt;
  var isNum = GaitLive.isNum;
  var sideBand = GaitLive.sideBand;

  function byId(id) { return document.getElementById(id); }
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function setAttr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }
  function show(el, visible) { if (el.hidden === visible) el.hidden = !visible; }

  var root = byId("console");
  var statusEl = byId("connection-status");
  var statusText = statusEl.querySelector(".status-text");
  var connectionBanner = byId("connection-banner");
  var deviceWarning = byId("device-warning");
  var deviceWarningList = byId("device-warning-list");
  var deviceRows = byId("device-rows");
  var deviceChips = byId("device-chips");

  /* ------------------------------------------------------------------ live numbers */
  var BAND_CHIPS = {none: "", below: "\u25B2 below band", in: "\u2713 in band",
                    above: "\u25BC above band", alarm: "\u26A0 over limit"};

  function bandState(value, band) {
    if (!band || !isNum(band[0]) || !isNum(band[1]) || !isNum(value)) return "none";
    return value < band[0] ? "below" : value > band[1] ? "above" : "in";
  }

  function renderFoot(side, msg) {
    var tile = byId("tile-" + side + "-foot");
    var pct = msg[side + "_foot_pct_bw"];
    setText(byId(side + "-foot-pct"), fmt(pct, 0));
    setText(byId(side + "-foot-n"), fmt(msg[side + "_foot_n"], 0));
    var state = bandState(pct, sideBand(msg, side));
    var limit = msg[side + "_limit_pct_bw"];
    if (isNum(limit) && isNum(pct) && pct > limit) state = "alarm";
    setAttr(tile, "data-band-state", state);
    // its insole stale (no sample for > 0.2 s): the server sends null and says why
    var lost = msg[side + "_foot_unavailable"];
    setAttr(tile, "data-signal", lost ? "lost" : "live");
    setAttr(tile, "title", lost ? lost.charAt(0).toUpperCase() + lost.slice(1) : "");
    setText(byId(side + "-band-chip"), lost ? "No signal from the " + side + " insole"
      : BAND_CHIPS[state]);
    var isProsthetic = (msg.patient || {}).prosthetic_side === side;
    setAttr(tile, "data-prosthetic", isProsthetic ? "true" : "false");
    show(tile.querySelector(".chip-prosthesis"), isProsthetic);
  }

  function renderLoads(msg) {
    renderFoot("left", msg);
    renderFoot("right", msg);
    setText(byId("bars-pct"), fmt(msg.bars_pct_bw, 0));
    setText(byId("left-bar-pct"), fmt(msg.left_bar_pct_bw, 0));
    setText(byId("right-bar-pct"), fmt(msg.right_bar_pct_bw, 0));
    var max = msg.targets ? msg.targets.max_hand_support_pct_bw : null;
    setAttr(byId("tile-bars"), "data-band-state",
      isNum(max) && isNum(msg.bars_pct_bw) && msg.bars_pct_bw > max ? "alarm" : "none");
    setAttr(byId("tile-bars"), "data-signal", msg.bars_unavailable ? "lost" : "live");
    setText(byId("rig-id"), msg.rig_id ? "Rig " + msg.rig_id : "");
    var link = byId("open-display");
    var href = msg.rig_id ? "/rigs/" + encodeURIComponent(msg.rig_id) + "/display" : "/display";
    if (link.getAttribute("href") !== href) link.setAttribute("href", href);
  }

  /* ------------------------------------------------------------------ alarm */
  var ALARM_TEXT = {over_limit: "Over the safety limit on the prosthetic leg",
                    hand_support: "Too much weight on the bars"};
  function renderAlarm(msg) {
    var alarm = msg.alarm || {};
    var kinds = alarm.kinds || [];
    show(byId("console-alarm"), !!alarm.active);
    setText(byId("console-alarm-text"), kinds.map(function (k) { return ALARM_TEXT[k] || k; })
      .join(" \u00b7 "));
  }

  /* ------------------------------------------------------------------ trial and steps */
  var TRIAL_TEXT = {none: "No trial", running: "\u25CF Recording", paused: "\u275A\u275A Paused",
                    stopped: "\u25A0 Stopped"};

  function clock(seconds) {
    if (!isNum(seconds)) return "0:00";
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function renderTrial(msg) {
    var trial = msg.trial;
    var state = trial ? trial.state : "none";
    setAttr(byId("trial-card"), "data-state", state);
    setText(byId("trial-state"), TRIAL_TEXT[state] + (trial ? " \u00b7 trial " + trial.id : ""));
    setText(byId("trial-elapsed"), clock(trial ? trial.elapsed_s : 0));
    var active = state === "running" || state === "paused";
    byId("trial-start").disabled = active;
    byId("trial-pause").disabled = !active;
    setText(byId("trial-pause"), state === "paused" ? "Resume" : "Pause");
    byId("trial-stop").disabled = !active;
    byId("mark-button").disabled = !active;
    var steps = msg.steps;
    setText(byId("steps-on-target"), steps ? String(steps.on_target) : "0");
    setText(byId("steps-total"), steps ? String(steps.total) : "0");
    renderSteps(steps ? steps.last : []);
  }

  var drawnSteps = null;
  function renderSteps(last) {
    var key = JSON.stringify(last);
    if (key === drawnSteps) return;
    drawnSteps = key;
    var rows = byId("steps-rows");
    rows.textContent = "";
    if (!last.length) {
      rows.innerHTML = '<tr class="empty-row"><td colspan="4">No steps yet</td></tr>';
      return;
    }
    last.slice().reverse().forEach(function (step) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-on-target", step.on_target ? "true" : "false");
      tr.setAttribute("data-prosthetic", step.prosthetic ? "true" : "false");
      [
        step.foot === "left" ? "Left" : "Right",
        fmt(step.stance_s, 2),
        fmt(step.peak_pct_bw, 0),
        step.on_target ? "\u2713 in" : "\u2717 out"
      ].forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === 1 || i === 2) td.className = "num";
        if (i === 3) td.className = "target";
        if (i === 0 && step.prosthetic) {
          var chip = document.createElement("span");
          chip.className = "chip-mini";
          chip.title = "prosthetic side";
          chip.textContent = "P";
          td.appendChild(chip);
        }
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
  }

  /* ------------------------------------------------------------------ 10 s plots (uPlot) */
  var buffer = {t: [], left: [], right: [], bars: [], lastSample: null};
  var cop = {left: [], right: []};

  function record(msg) {
    var t = msg.sample_time_s;
    if (!isNum(t) || t === buffer.lastSample) return;
    buffer.lastSample = t;
    buffer.t.push(t);
    buffer.left.push(isNum(msg.left_foot_pct_bw) ? msg.left_foot_pct_bw : null);
    buffer.right.push(isNum(msg.right_foot_pct_bw) ? msg.right_foot_pct_bw : null);
    buffer.bars.push(isNum(msg.bars_pct_bw) ? msg.bars_pct_bw : null);
    while (buffer.t.length && buffer.t[0] < t - WINDOW_S) {
      buffer.t.shift(); buffer.left.shift(); buffer.right.shift(); buffer.bars.shift();
    }
    ["left", "right"].forEach(function (side) {
      var p = msg[side + "_cop_mm"];
      var trail = cop[side];
      trail.push(p ? [t, p[0], p[1]] : [t, null, null]);
      while (trail.length && trail[0][0] < t - COP_TRAIL_S) trail.shift();
    });
  }

  var COLORS = {left: "#2f6db0", right: "#b0562f", bars: "#5b4db0", limit: "#c62828"};
  var guides = {band: null, bandSide: null, limit: null, maxHands: null};

  function drawLine(u, value, color, label) {
    if (!isNum(value)) return;
    var ctx = u.ctx, y = u.valToPos(value, "y", true);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash([8 * devicePixelRatio, 6 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.font = "bold " + 12 * devicePixelRatio + "px sans-serif";
    ctx.textAlign = "right";
    ctx.fillText(label, u.bbox.left + u.bbox.width - 4, y - 4 * devicePixelRatio);
    ctx.restore();
  }

  function drawBand(u) {
    var band = guides.band;
    if (band && isNum(band[0]) && isNum(band[1])) {
      var ctx = u.ctx;
      var top = u.valToPos(band[1], "y", true), bottom = u.valToPos(band[0], "y", true);
      ctx.save();
      ctx.fillStyle = guides.bandSide === "right" ? "rgba(176, 86, 47, 0.16)"
        : "rgba(47, 109, 176, 0.16)";
      ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
      ctx.strokeStyle = guides.bandSide === "right" ? COLORS.right : COLORS.left;
      ctx.lineWidth = devicePixelRatio;
      ctx.strokeRect(u.bbox.left, top, u.bbox.width, bottom - top);
      ctx.restore();
    }
    drawLine(u, guides.limit, COLORS.limit, "limit");
  }

  function makePlot(el, title, series, yMax, hook) {
    var opts = {
      title: title,
      width: Math.max(200, el.clientWidth),
      height: 170,
      legend: {show: true, live: false},
      cursor: {show: false},
      scales: {x: {time: false, range: [-WINDOW_S, 0]},
               y: {range: function (u, lo, hi) { return [0, Math.max(yMax, hi || 0)]; }}},
      axes: [{label: "s", size: 32, splits: function () { return [-10, -8, -6, -4, -2, 0]; }},
             {label: "% BW", size: 46}],
      series: [{}].concat(series),
      hooks: {drawClear: [hook]}
    };
    var data = [[]].concat(series.map(function () { return []; }));
    return new uPlot(opts, data, el);
  }

  var plots = null;
  function initPlots() {
    if (typeof uPlot === "undefined") return;
    var feetEl = byId("plot-feet"), barsEl = byId("plot-bars");
    plots = {
      feet: makePlot(feetEl, "Feet", [
        {label: "Left foot", stroke: COLORS.left, width: 2},
        {label: "Right foot", stroke: COLORS.right, width: 2, dash: [10, 4]}], 120, drawBand),
      bars: makePlot(barsEl, "Hands on the bars", [
        {label: "Both bars", stroke: COLORS.bars, width: 2, fill: "rgba(91, 77, 176, 0.12)"}], 40,
        function (u) { drawLine(u, guides.maxHands, COLORS.limit, "max hand support"); })
    };
    window.addEventListener("resize", function () {
      plots.feet.setSize({width: Math.max(200, feetEl.clientWidth), height: 170});
      plots.bars.setSize({width: Math.max(200, barsEl.clientWidth), height: 170});
    });
  }

  function renderPlots(msg) {
    if (!plots) return;
    guides.bandSide = msg.band_side;
    guides.band = sideBand(msg, msg.band_side || "left");
    guides.limit = msg[(msg.patient || {}).prosthetic_side + "_limit_pct_bw"];
    guides.maxHands = msg.targets ? msg.targets.max_hand_support_pct_bw : null;
    var now = buffer.lastSample;
    var x = buffer.t.map(function (t) { return t - now; });
    plots.feet.setData([x, buffer.left.slice(), buffer.right.slice()]);
    plots.bars.setData([x, buffer.bars.slice()]);
  }

  /* ------------------------------------------------------------------ CoP trail */
  // Insole outline, right foot, mm in the insole frame (origin heel centre, +y to the toes,
  // +x to the patient's right); the left foot is its mirror image.
  var OUTLINE_MM = [[0, -36], [28, -28], [36, 10], [36, 80], [44, 140], [48, 190], [40, 232],
                    [18, 258], [-12, 262], [-34, 240], [-44, 195], [-42, 140], [-34, 80],
                    [-33, 20], [-28, -26]];
  var copCanvas = byId("cop-canvas");

  function renderCop() {
    var ctx = copCanvas.getContext("2d");
    var w = copCanvas.width, h = copCanvas.height;
    ctx.clearRect(0, 0, w, h);
    var scale = (h - 24) / 310;
    ["left", "right"].forEach(function (side, i) {
      var cx = w * (i === 0 ? 0.27 : 0.73), cy = h - 12 - 40 * scale;
      var mirror = side === "left" ? -1 : 1;
      function px(x) { return cx + mirror * 0 + x * scale; }
      function py(y) { return cy - y * scale; }
      ctx.beginPath();
      OUTLINE_MM.forEach(function (p, k) {
        var x = px(mirror * p[0]), y = py(p[1]);
        if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.closePath();
      ctx.fillStyle = "#f3f6f9";
      ctx.fill();
      ctx.strokeStyle = "#8a9bab";
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.fillStyle = "#5a6b7b";
      ctx.font = "bold 13px sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(side === "left" ? "L" : "R", cx, 14);
      var trail = cop[side];
      var color = side === "left" ? COLORS.left : COLORS.right;
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      var started = false, last = null;
      trail.forEach(function (p) {
        if (p[1] === null) { started = false; return; }
        var x = px(p[1]), y = py(p[2]);
        if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
        last = [x, y];
      });
      ctx.stroke();
      var newest = trail[trail.length - 1];
      if (newest && newest[1] !== null && last) {
        ctx.fillStyle = color;
        ctx.beginPath();
        ctx.arc(last[0], last[1], 7, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }

  /* ------------------------------------------------------------------ boards */
  var rowsByRole = {};
  var chipsByRole = {};
  var CELLS = ["board", "port", "status", "rate", "age", "frames", "crc", "gaps", "lost", "reconnects"];
  var NUMERIC = {rate: 1, age: 1, frames: 1, crc: 1, gaps: 1, lost: 1, reconnects: 1};
  var SHORT_ROLE = {bars: "Bars", insole_left: "L insole", insole_right: "R insole"};

  function deviceState(dev) {
    if (!dev.connected) return "disconnected";
    // the server's word (no sample for > 0.2 s: its values are null in the message), else age
    if (dev.stale === true) return "stale";
    if (!isNum(dev.last_frame_age_s) || dev.last_frame_age_s > DEVICE_STALE_S) return "stale";
    return "ok";
  }

  function ensureRow(role) {
    var row = rowsByRole[role];
    if (row) return row;
    var empty = deviceRows.querySelector(".empty-row");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    tr.setAttribute("data-role", role);
    var cells = {};
    CELLS.forEach(function (name) {
      var td = document.createElement("td");
      td.className = "cell-" + name + (NUMERIC[name] ? " num" : "");
      if (name === "status") {
        var pill = document.createElement("span");
        pill.className = "state";
        td.appendChild(pill);
        cells.statusPill = pill;
      }
      tr.appendChild(td);
      cells[name] = td;
    });
    deviceRows.appendChild(tr);
    var chip = document.createElement("span");
    chip.className = "device-chip";
    chip.setAttribute("data-role", role);
    deviceChips.appendChild(chip);
    chipsByRole[role] = chip;
    row = {tr: tr, cells: cells};
    rowsByRole[role] = row;
    return row;
  }

  function counterCell(td, value) {
    setText(td, fmt(value, 0));
    var nonzero = isNum(value) && value > 0;
    if (td.classList.contains("nonzero") !== nonzero) td.classList.toggle("nonzero", nonzero);
  }

  function chipText(dev, state) {
    var mark = state === "ok" ? "\u25CF" : state === "stale" ? "\u25B2" : "\u2715";
    var parts = [mark + " " + (SHORT_ROLE[dev.role] || dev.role)];
    if (state === "disconnected") parts.push("off");
    else {
      parts.push(fmt(dev.sample_rate_hz, 0) + " Hz");
      parts.push(isNum(dev.last_frame_age_s) ? fmt(dev.last_frame_age_s * 1000, 0) + " ms" : "\u2013");
    }
    var issues = [];
    if (dev.crc_errors > 0) issues.push(dev.crc_errors + " CRC");
    if (dev.sequence_gaps > 0) issues.push(dev.sequence_gaps + " gaps");
    if (dev.reconnects > 0) issues.push(dev.reconnects + " reconn.");
    return parts.join(" ") + (issues.length ? " \u00b7 " + issues.join(" ") : "");
  }

  function renderDevices(devices) {
    var seen = {};
    var problems = [];
    devices.forEach(function (dev) {
      var role = String(dev.role);
      seen[role] = true;
      var row = ensureRow(role);
      var state = deviceState(dev);
      var c = row.cells;
      setAttr(row.tr, "data-connected", dev.connected ? "true" : "false");
      setAttr(row.tr, "data-state", state);
      setText(c.board, GaitLive.roleName(role));
      setText(c.port, dev.port || "\u2013");
      var ageText = isNum(dev.last_frame_age_s) ? fmt(dev.last_frame_age_s, 1) + " s" : "";
      setText(c.statusPill, state === "ok" ? "\u25CF Connected"
        : state === "stale" ? "\u25B2 No data" + (ageText ? " " + ageText : "")
        : "\u2715 Disconnected");
      setText(c.rate, fmt(dev.sample_rate_hz, 0));
      setText(c.age, isNum(dev.last_frame_age_s) ? fmt(dev.last_frame_age_s * 1000, 0) : "\u2013");
      setText(c.frames, fmt(dev.frames, 0));
      counterCell(c.crc, dev.crc_errors);
      counterCell(c.gaps, dev.sequence_gaps);
      counterCell(c.lost, dev.frames_lost);
      counterCell(c.reconnects, dev.reconnects);
      var chip = chipsByRole[role];
      setAttr(chip, "data-state", state);
      setText(chip, chipText(dev, state));
      if (state === "disconnected") {
        problems.push(GaitLive.roleName(role) + " (" + (dev.port || "no port") +
          ") is disconnected.");
      } else if (state === "stale") {
        problems.push(GaitLive.roleName(role) + " has sent no data for " +
          (ageText || "a while") + " (" + (dev.port || "no port") +
          "): its values are not shown.");
      }
      setAttr(row.tr, "data-clock", dev.clock_drift_implausible ? "implausible" : "ok");
      if (dev.clock_drift_implausible) {
        problems.push(GaitLive.roleName(role) + ": its clock drifts by " +
          fmt(dev.clock_drift_ppm / 10000, 1) + " % (over 1 %): not used to time its samples.");
      }
    });
    Object.keys(rowsByRole).forEach(function (role) {
      if (!seen[role]) {
        rowsByRole[role].tr.remove();
        chipsByRole[role].remove();
        delete rowsByRole[role];
        delete chipsByRole[role];
      }
    });
    if (devices.length === 0) problems.push("No boards are connected to the rig.");
    renderWarning(problems);
  }

  var drawnProblems = null;
  function renderWarning(problems) {
    var key = problems.join("\n");
    if (key === drawnProblems) return;
    drawnProblems = key;
    deviceWarningList.textContent = "";
    problems.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      deviceWarningList.appendChild(li);
    });
    deviceWarning.hidden = problems.length === 0;
  }

  /* ------------------------------------------------------------------ recorder */
  var recordingWarning = byId("recording-warning");
  var recordingWarningText = byId("recording-warning-text");

  function renderRecording(recording) {
    var away = !!recording && recording.database_reachable === false;
    show(recordingWarning, away);
    if (!away) return;
    setText(recordingWarningText, "Away for " + fmt(recording.for_s, 0) + " s. The trial goes " +
      "on; " + fmt(recording.buffered_chunks, 0) + " writes wait (" +
      fmt(recording.spooled_chunks, 0) + " kept on this computer) and are stored when the " +
      "database is back.");
  }

  /* ------------------------------------------------------------------ connection */
  var STATUS_TEXT = {connecting: "Connecting\u2026", live: "Live",
                     reconnecting: "Reconnecting\u2026", stale: "No data"};

  function renderConnection(live) {
    var state;
    if (live.status === "reconnecting" || live.status === "closed") state = "reconnecting";
    else if (!live.latest) state = "connecting";
    else if (live.ageMs() > STALE_MS) state = "stale";
    else state = "live";
    setAttr(root, "data-connection", state);
    setAttr(statusEl, "data-state", state);
    setText(statusText, STATUS_TEXT[state]);
    show(connectionBanner, state === "reconnecting" || state === "stale");
  }

  /* ------------------------------------------------------------------ loop */
  var live = GaitLive.connect({onMessage: record});
  var drawnMsg = null;
  var listeners = [];

  function redraw() {
    renderConnection(live);
    var msg = live.latest;
    if (!msg || msg === drawnMsg) return;
    drawnMsg = msg;
    renderLoads(msg);
    renderAlarm(msg);
    renderTrial(msg);
    renderPlots(msg);
    renderCop();
    renderDevices(Array.isArray(msg.devices) ? msg.devices : []);
    renderRecording(msg.recording);
    listeners.forEach(function (fn) { fn(msg); });
    setAttr(root, "data-seq", String(msg.seq));
  }

  initPlots();
  window.setInterval(redraw, REDRAW_MS);
  redraw();

  window.gaitConsole = {
    live: live,
    plots: function () { return plots; },
    buffer: buffer,
    onMessage: function (fn) { listeners.push(fn); },
    setText: setText,
    byId: byId
  };
})();
