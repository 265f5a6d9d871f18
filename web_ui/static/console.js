/*
 * Therapist console: live numbers for both feet and bars, the boards' health, a link to the
 * patient display. The websocket delivers >= 30 messages per second; the page redraws at most
 * 10 times per second (readable numbers, little work on a tablet) and writes only what changed.
 *
 * Hooks for tests: #device-rows tr[data-role][data-connected][data-state] (ok | stale |
 * disconnected), #device-warning (hidden unless a board is disconnected or silent > 0.5 s),
 * #console[data-connection], #console[data-seq].
 */
(function () {
  "use strict";

  var REDRAW_MS = 100;
  var DEVICE_STALE_S = 0.5;    // a board whose newest frame is older than this is "not sending"
  var STALE_MS = 1000;         // no websocket message for this long: data not live

  var fmt = GaitLive.fmt;
  var isNum = GaitLive.isNum;

  function byId(id) { return document.getElementById(id); }

  /** Set text only when it changed (keeps the DOM quiet). */
  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }
  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }

  var root = byId("console");
  var statusEl = byId("connection-status");
  var statusText = statusEl.querySelector(".status-text");
  var connectionBanner = byId("connection-banner");
  var deviceWarning = byId("device-warning");
  var deviceWarningList = byId("device-warning-list");
  var deviceRows = byId("device-rows");

  /* ------------------------------------------------------------------ patient and live load */
  var SIDE_NAMES = {left: "Left leg", right: "Right leg", both: "Both legs", bilateral: "Both legs"};
  var BAND_CHIPS = {none: "", below: "\u25B2 below band", in: "\u2713 in band", above: "\u25BC above band"};

  function bandState(value, inBand, band) {
    if (!band || !isNum(band[0]) || !isNum(band[1]) || !isNum(value)) return "none";
    if (inBand === true) return "in";
    if (inBand === false) return value < (band[0] + band[1]) / 2 ? "below" : "above";
    return value < band[0] ? "below" : value > band[1] ? "above" : "in";
  }

  function renderFoot(side, msg, prostheticSide) {
    var tile = byId("tile-" + side + "-foot");
    var pct = msg[side + "_foot_pct_bw"];
    setText(byId(side + "-foot-pct"), fmt(pct, 0));
    setText(byId(side + "-foot-n"), fmt(msg[side + "_foot_n"], 0));
    var state = bandState(pct, msg[side + "_in_band"], msg.target_band_pct_bw);
    setAttr(tile, "data-band-state", state);
    setText(byId(side + "-band-chip"), BAND_CHIPS[state]);
    var isProsthetic = prostheticSide === side || prostheticSide === "both" ||
      prostheticSide === "bilateral";
    setAttr(tile, "data-prosthetic", isProsthetic ? "true" : "false");
    var chip = tile.querySelector(".chip-prosthesis");
    if (chip.hidden === isProsthetic) chip.hidden = !isProsthetic;
  }

  function renderBar(side, msg) {
    setText(byId(side + "-bar-pct"), fmt(msg[side + "_bar_pct_bw"], 0));
    setText(byId(side + "-bar-n"), fmt(msg[side + "_bar_n"], 0));
  }

  function renderPatient(msg) {
    var patient = msg.patient || {};
    var side = String(patient.prosthetic_side || "").toLowerCase();
    setText(byId("patient-name"), patient.display_name || "\u2013");
    setText(byId("patient-side"), SIDE_NAMES[side] || (side ? side : "\u2013"));
    setText(byId("patient-mass"), fmt(patient.body_mass_kg, 1));
    setText(byId("body-weight-n"), fmt(msg.body_weight_n, 0));
    var band = msg.target_band_pct_bw;
    setText(byId("target-band"), band && isNum(band[0]) && isNum(band[1])
      ? fmt(band[0], 0) + "\u2013" + fmt(band[1], 0) + " % BW" : "not set");
    setText(byId("total-n"), fmt(msg.total_n, 0));
    var totalPct = isNum(msg.total_n) && isNum(msg.body_weight_n) && msg.body_weight_n > 0
      ? fmt(msg.total_n / msg.body_weight_n * 100, 0) + " % of body weight" : "";
    setText(byId("total-pct-bw"), totalPct);
    setText(byId("rig-id"), msg.rig_id ? "Rig " + msg.rig_id : "");
    return side;
  }

  var SPLIT = ["left_foot", "left_bar", "right_bar", "right_foot"];
  function renderSplit(msg) {
    SPLIT.forEach(function (part) {
      var share = msg[part + "_share_pct"];
      var basis = (isNum(share) ? Math.max(0, Math.min(100, share)) : 0).toFixed(1) + "%";
      var seg = byId("split-" + part.replace("_", "-"));
      if (seg.style.flexBasis !== basis) seg.style.flexBasis = basis;
    });
  }

  /* ------------------------------------------------------------------ boards */
  var rowsByRole = {};

  var CELLS = ["board", "port", "status", "rate", "age", "frames", "crc", "gaps", "lost", "reconnects"];
  var NUMERIC = {rate: 1, age: 1, frames: 1, crc: 1, gaps: 1, lost: 1, reconnects: 1};

  function deviceState(dev) {
    if (!dev.connected) return "disconnected";
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
    row = {tr: tr, cells: cells};
    rowsByRole[role] = row;
    return row;
  }

  function counterCell(td, value) {
    setText(td, fmt(value, 0));
    var nonzero = isNum(value) && value > 0;
    if (td.classList.contains("nonzero") !== nonzero) td.classList.toggle("nonzero", nonzero);
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
      if (state === "disconnected") {
        problems.push(GaitLive.roleName(role) + " (" + (dev.port || "no port") +
          ") is disconnected.");
      } else if (state === "stale") {
        problems.push(GaitLive.roleName(role) + " has sent no data for " +
          (ageText || "a while") + ".");
      }
    });
    Object.keys(rowsByRole).forEach(function (role) {
      if (!seen[role]) {
        rowsByRole[role].tr.remove();
        delete rowsByRole[role];
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

  /* ------------------------------------------------------------------ connection */
  var STATUS_TEXT = {
    connecting: "Connecting\u2026",
    live: "Live",
    reconnecting: "Reconnecting\u2026",
    stale: "No data"
  };

  function renderConnection(live) {
    var state;
    if (live.status === "reconnecting" || live.status === "closed") state = "reconnecting";
    else if (!live.latest) state = "connecting";
    else if (live.ageMs() > STALE_MS) state = "stale";
    else state = "live";
    setAttr(root, "data-connection", state);
    setAttr(statusEl, "data-state", state);
    setText(statusText, STATUS_TEXT[state]);
    var showBanner = state === "reconnecting" || state === "stale";
    if (connectionBanner.hidden === showBanner) connectionBanner.hidden = !showBanner;
  }

  /* ------------------------------------------------------------------ loop */
  var live = GaitLive.connect();
  var drawnMsg = null;

  function redraw() {
    renderConnection(live);
    var msg = live.latest;
    if (!msg || msg === drawnMsg) return;
    drawnMsg = msg;
    var prostheticSide = renderPatient(msg);
    renderFoot("left", msg, prostheticSide);
    renderFoot("right", msg, prostheticSide);
    renderBar("left", msg);
    renderBar("right", msg);
    setText(byId("bars-pct"), fmt(msg.bars_pct_bw, 0));
    renderSplit(msg);
    renderDevices(Array.isArray(msg.devices) ? msg.devices : []);
    setAttr(root, "data-seq", String(msg.seq));
  }

  window.setInterval(redraw, REDRAW_MS);
  redraw();

  window.gaitConsole = {live: live};
})();
