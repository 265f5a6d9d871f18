/*
 * rest.js - the one fetch wrapper of the console and the clinic-records pages.
 *
 * GaitRest.api(method, path, body) sends `body` (if given) as JSON and resolves to the parsed
 * JSON answer (null when empty). A refusal (4xx/5xx) rejects with an Error whose message is the
 * server's reason (FastAPI's `detail`: a string, or the 422 field errors as "field: message")
 * and whose `status` is the HTTP status. Plain JavaScript, no build step.
 *
 * Login: every request other than GET/HEAD carries the session's CSRF token in the header
 * X-CSRF-Token (read from the cookie gaitrig_csrf that the login sets; the server compares it
 * with the token it keeps for the session). A 401 (not logged in, or the session ended) sends
 * the page to /login, which comes back here after the login.
 */
(function (global) {
  "use strict";

  /** The server's reason in a refusal's body (FastAPI's `detail`), as one line. */
  function reason(data) {
    if (!data) return "";
    var detail = data.detail !== undefined ? data.detail : data;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map(function (d) {
        var where = (d.loc || []).filter(function (x) { return x !== "body"; }).join(".");
        return (where ? where + ": " : "") + String(d.msg || "").replace(/^Value error, /, "");
      }).join("; ");
    }
    return JSON.stringify(detail);
  }

  /** The value of cookie `name`, or "". */
  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  /** Go to the login page, coming back to this page afterwards. */
  function toLogin() {
    var here = global.location.pathname + global.location.search;
    global.location.assign("/login?next=" + encodeURIComponent(here));
  }

  /** fetch + JSON; a refusal becomes an Error with the server's reason and `status`. */
  function api(method, path, body) {
    var init = {method: method, headers: {}, credentials: "same-origin"};
    if (method !== "GET" && method !== "HEAD") {
      init.headers["X-CSRF-Token"] = cookie("gaitrig_csrf");
    }
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = text; }
        if (response.status === 401 && path !== "/api/login") toLogin();
        if (!response.ok) {
          var error = new Error(reason(data) || response.status + " " + response.statusText);
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  global.GaitRest = {api: api, reason: reason, toLogin: toLogin};
})(window);
