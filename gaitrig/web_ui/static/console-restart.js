/*
 * Therapist console, after a server restart: say plainly what happened instead of a stale
 * "Recording".
 *
 * Every live message carries `server_instance` (random per start of the server). The console
 * remembers it, with the trial it showed, in this tab's sessionStorage (so it is still known
 * after "log in again" brings the page back). When the instance changes:
 *   - logged in (login sessions survive a restart): GET /api/rig names the trials the new
 *     start closed as interrupted (`server.interrupted_trial_ids`);
 *   - login gone (the websocket is refused, so no message comes): while the live view is
 *     reconnecting, /api/health (open to anyone) is asked for its `server_instance` and
 *     `trials_interrupted_at_start`, /api/session whether the login still holds, and the banner
 *     says "please log in again".
 * Hooks for tests: #restart-banner[data-trial-id][data-login] (ok | gone), #restart-text,
 * #trial-card[data-state="interrupted"].
 */
(function () {
  "use strict";

  var C = window.gaitConsole;
  var byId = C.byId;
  var KEY = "gaitrig.console.server";
  var HEALTH_EVERY_MS = 2000;
  var ACTIVE = {running: true, paused: true};

  var banner = byId("restart-banner");
  var known = load();          // {instance, trialId, trialState} as this tab last saw them
  var explained = null;        // the instance already explained
  var lastHealthMs = 0;

  function load() {
    try { return JSON.parse(window.sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }

  function save() {
    try { window.sessionStorage.setItem(KEY, JSON.stringify(known)); } catch (e) { /* private mode */ }
  }

  function noteMessage(msg) {
    if (typeof msg.server_instance !== "string") return;
    if (known && known.instance !== msg.server_instance && explained !== msg.server_instance) {
      restarted(known, msg.server_instance, true);
    }
    var trial = msg.trial;
    known = {instance: msg.server_instance, trialId: trial ? trial.id : null,
             trialState: trial ? trial.state : null};
    save();
  }

  function plainGet(path) {  // no redirect to the login page on a 401 (GaitRest.api would)
    return fetch(path, {credentials: "same-origin", cache: "no-store"});
  }

  /** The server at `instance` is a new start; `before` is what this tab knew. */
  function restarted(before, instance, loggedIn) {
    explained = instance;
    var trialId = before && ACTIVE[before.trialState] ? before.trialId : null;
    if (trialId !== null) {  // never a stale "Recording"
      var card = byId("trial-card");
      card.setAttribute("data-state", "interrupted");
      C.setText(byId("trial-state"), "\u25A0 Trial " + trialId + " interrupted");
      ["trial-pause", "trial-stop", "mark-button"].forEach(function (id) {
        byId(id).disabled = true;  // the next live message enables what fits again
      });
    }
    C.setText(byId("trial-result"), "");  // "Trial N started." is from before the restart
    if (!loggedIn) {
      show(trialId, "gone", trialText(trialId, null) + " Your login has ended: please log in again.");
      return;
    }
    GaitRest.api("GET", "/api/rig").then(function (state) {
      var ids = (state.server && state.server.interrupted_trial_ids) || [];
      show(trialId, "ok", trialText(trialId, ids.indexOf(trialId) >= 0) +
        " The patient, exercise, targets and feedback were kept; you are still logged in.");
      if (window.gaitControls && window.gaitControls.refresh) window.gaitControls.refresh();
    }).catch(function (err) {
      show(trialId, "ok", trialText(trialId, null) + " (" + err.message + ")");
    });
  }

  /** `interrupted`: true/false when the server said so, null when it could not be asked. */
  function trialText(trialId, interrupted) {
    if (trialId === null) return "No trial was running.";
    if (interrupted === false) {
      return "Trial " + trialId + " was stopped when the server shut down and is stored.";
    }
    return "Trial " + trialId + " was closed as interrupted: what was recorded up to the " +
      "restart is kept. Start a new trial to go on.";
  }

  function show(trialId, login, text) {
    banner.setAttribute("data-trial-id", trialId === null ? "" : String(trialId));
    banner.setAttribute("data-login", login);
    C.setText(byId("restart-text"), text);
    byId("restart-login").hidden = login !== "gone";
    banner.hidden = false;
  }

  /** While the live view is down, ask the open health check whether a new server answers. */
  function checkHealth() {
    var live = C.live;
    if (!known || live.status === "live" || Date.now() - lastHealthMs < HEALTH_EVERY_MS) return;
    lastHealthMs = Date.now();
    plainGet("/api/health").then(function (r) { return r.ok ? r.json() : null; }).then(function (h) {
      if (!h || !h.server_instance || h.server_instance === known.instance ||
          explained === h.server_instance) return null;
      return plainGet("/api/session").then(function (s) {
        if (s.status === 401) {
          var before = known;
          restarted(before, h.server_instance, false);
          if (before.trialId !== null && ACTIVE[before.trialState] &&
              !h.trials_interrupted_at_start) {
            C.setText(byId("restart-text"), trialText(before.trialId, false) +
              " Your login has ended: please log in again.");
          }
        }
        // logged in: the websocket comes back and its first message explains it
      });
    }).catch(function () { /* the server is still away */ });
  }

  byId("restart-dismiss").addEventListener("click", function () { banner.hidden = true; });
  byId("restart-login").addEventListener("click", function () { GaitRest.toLogin(); });

  C.onMessage(noteMessage);
  window.setInterval(checkHealth, 500);
})();
