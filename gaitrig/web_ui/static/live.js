/*
 * live.js - shared client for the rig's live websocket (/ws/live).
 *
 * The server pushes the newest rig state as JSON text messages (type "live", version 2) at
 * display rate (>= 30 per second), never a backlog. This client:
 *   - opens ws:// or wss:// on the page's own host (per location.protocol), passing on the
 *     page's display token (?token=...) when it has one (a logged-in console needs none: the
 *     browser sends its session cookie),
 *   - reconnects by itself after a drop, with exponential backoff capped at 2 s,
 *   - drops a connection that stays silent (half-open TCP) so that it reconnects,
 *   - keeps only the newest message; pages read it in their own render loop.
 *
 * Usage (plain script, no build step):
 *   const live = GaitLive.connect({
 *     onMessage(msg) { ... },          // every parsed "live" message
 *     onStatus(status, detail) { ... } // "connecting" | "live" | "reconnecting" | "closed"
 *   });
 *   live.latest          // newest message or null
 *   live.latestAtMs      // performance.now() when it arrived
 *   live.status          // as above
 *   live.close()         // stop for good
 */
(function (global) {
  "use strict";

  var PROTOCOL_VERSION = 2;
  var BACKOFF_FIRST_MS = 250;
  var BACKOFF_MAX_MS = 2000;
  // A healthy server sends >= 30 messages per second; 3 s of silence on an open socket means the
  // connection is dead even if the browser has not noticed yet.
  var SILENCE_RECONNECT_MS = 3000;

  function liveUrl(path) {
    var scheme = global.location.protocol === "https:" ? "wss:" : "ws:";
    var token = new URLSearchParams(global.location.search).get("token");
    var query = token ? (path.indexOf("?") < 0 ? "?" : "&") + "token=" +
        encodeURIComponent(token) : "";
    return scheme + "//" + global.location.host + path + query;
  }

  function LiveClient(options) {
    options = options || {};
    this.path = options.path || "/ws/live";
    this.onMessage = options.onMessage || function () {};
    this.onStatus = options.onStatus || function () {};
    this.latest = null;
    this.latestAtMs = 0;
    this.messageCount = 0;
    this.connectCount = 0;
    this.status = "connecting";
    this._socket = null;
    this._backoffMs = BACKOFF_FIRST_MS;
    this._retryTimer = null;
    this._watchdog = null;
    this._closed = false;
    this._warnedVersion = false;
    this._open();
    var self = this;
    this._watchdog = global.setInterval(function () { self._checkSilence(); }, 500);
    global.addEventListener("online", function () { self.reconnectNow(); });
  }

  LiveClient.prototype._setStatus = function (status, detail) {
    if (status === this.status && !detail) return;
    this.status = status;
    try {
      this.onStatus(status, detail || {});
    } catch (err) {
      console.error("live.js: onStatus handler failed", err);
    }
  };

  LiveClient.prototype._open = function () {
    if (this._closed) return;
    var self = this;
    var socket;
    this._retryTimer = null;
    try {
      socket = new WebSocket(liveUrl(this.path));
    } catch (err) {
      console.error("live.js: cannot open websocket", err);
      this._scheduleRetry();
      return;
    }
    this._socket = socket;
    this._openedAtMs = global.performance.now();
    this._lastTrafficMs = this._openedAtMs;

    socket.onopen = function () {
      if (socket !== self._socket) return;
      self.connectCount += 1;
      self._lastTrafficMs = global.performance.now();
      // "live" is announced with the first message, not on open: an open socket that carries no
      // data is not live.
    };
    socket.onmessage = function (event) {
      if (socket !== self._socket) return;
      self._lastTrafficMs = global.performance.now();
      self._handleText(event.data);
    };
    socket.onerror = function () {
      // onclose follows and schedules the retry.
    };
    socket.onclose = function () {
      if (socket !== self._socket) return;
      self._socket = null;
      self._scheduleRetry();
    };
  };

  LiveClient.prototype._handleText = function (text) {
    var msg;
    if (typeof text !== "string") return;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      console.warn("live.js: ignoring a message that is not JSON");
      return;
    }
    if (!msg || msg.type !== "live") return;
    if (msg.version !== PROTOCOL_VERSION && !this._warnedVersion) {
      this._warnedVersion = true;
      console.warn("live.js: server speaks live message version " + msg.version +
        ", this page expects " + PROTOCOL_VERSION);
    }
    this.latest = msg;
    this.latestAtMs = global.performance.now();
    this.messageCount += 1;
    this._backoffMs = BACKOFF_FIRST_MS;
    if (this.status !== "live") this._setStatus("live");
    try {
      this.onMessage(msg);
    } catch (err) {
      console.error("live.js: onMessage handler failed", err);
    }
  };

  LiveClient.prototype._scheduleRetry = function () {
    if (this._closed || this._retryTimer !== null) return;
    var delay = this._backoffMs;
    // Up to 20 % shorter so that many tablets do not reconnect in lockstep; never above the cap.
    delay = Math.round(delay * (0.8 + 0.2 * Math.random()));
    this._backoffMs = Math.min(this._backoffMs * 2, BACKOFF_MAX_MS);
    this._setStatus("reconnecting", { retryInMs: delay });
    var self = this;
    this._retryTimer = global.setTimeout(function () { self._open(); }, delay);
  };

  LiveClient.prototype._checkSilence = function () {
    if (this._closed || !this._socket) return;
    if (global.performance.now() - this._lastTrafficMs > SILENCE_RECONNECT_MS) {
      console.warn("live.js: no message for " + SILENCE_RECONNECT_MS + " ms, reconnecting");
      this._drop();
    }
  };

  LiveClient.prototype._drop = function () {
    var socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      try { socket.close(); } catch (err) { /* already closed */ }
    }
    this._scheduleRetry();
  };

  /** Reconnect at once (e.g. when the network comes back), skipping the backoff wait. */
  LiveClient.prototype.reconnectNow = function () {
    if (this._closed) return;
    if (this._socket && this._socket.readyState === WebSocket.OPEN) return;
    if (this._retryTimer !== null) {
      global.clearTimeout(this._retryTimer);
      this._retryTimer = null;
    }
    this._backoffMs = BACKOFF_FIRST_MS;
    if (!this._socket) this._open();
  };

  /** Milliseconds since the newest message arrived (Infinity before the first one). */
  LiveClient.prototype.ageMs = function () {
    return this.latest ? global.performance.now() - this.latestAtMs : Infinity;
  };

  LiveClient.prototype.close = function () {
    this._closed = true;
    if (this._retryTimer !== null) global.clearTimeout(this._retryTimer);
    global.clearInterval(this._watchdog);
    var socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      socket.close();
    }
    this._setStatus("closed");
  };

  /* Small helpers both pages use. */

  /** Format a number or return the placeholder for null / undefined / NaN. */
  function fmt(value, digits, placeholder) {
    if (value === null || value === undefined || typeof value !== "number" || !isFinite(value)) {
      return placeholder === undefined ? "\u2013" : placeholder;
    }
    return value.toFixed(digits || 0);
  }

  /** True when the value is a finite number. */
  function isNum(value) {
    return typeof value === "number" && isFinite(value);
  }

  /** The target band (% BW) of one leg ("left"/"right"): protocol v2 sends it per leg
   *  (weight shift moves it); otherwise both legs share ``target_band_pct_bw``. */
  function sideBand(msg, side) {
    var key = side + "_band_pct_bw";
    return key in msg ? msg[key] : msg.target_band_pct_bw;
  }

  var ROLE_NAMES = {
    bars: "Parallel bars",
    insole_left: "Left insole",
    insole_right: "Right insole"
  };

  function roleName(role) {
    return ROLE_NAMES[role] || String(role);
  }

  global.GaitLive = {
    connect: function (options) { return new LiveClient(options); },
    LiveClient: LiveClient,
    fmt: fmt,
    isNum: isNum,
    roleName: roleName,
    sideBand: sideBand,
    BACKOFF_MAX_MS: BACKOFF_MAX_MS
  };
})(window);
