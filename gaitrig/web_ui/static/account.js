/*
 * The console's account controls: log out, and the rig's display link (show, new, revoke)
 * through GaitRest.api (/api/logout, /api/display-link).
 */
(function () {
  "use strict";

  var api = GaitRest.api;
  function byId(id) { return document.getElementById(id); }

  var panel = byId("display-link-panel");
  var toggle = byId("display-link-toggle");
  var url = byId("display-link-url");
  var error = byId("display-link-error");

  function show(link) {
    url.textContent = link && link.url ? link.url : "no display link";
    error.textContent = "";
  }

  function fail(err) { error.textContent = err.message; }

  toggle.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) api("GET", "/api/display-link").then(show, fail);
  });
  byId("display-link-new").addEventListener("click", function () {
    api("POST", "/api/display-link").then(show, fail);
  });
  byId("display-link-revoke").addEventListener("click", function () {
    api("DELETE", "/api/display-link").then(function () { show(null); }, fail);
  });
  byId("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(function () { window.location.assign("/login"); }, fail);
  });
})();
