/*
 * The login page: POST /api/login (GaitRest.api), then back to the page that sent us here
 * (?next=, a path on this server only) or to the console. A refusal shows the server's reason
 * (wrong user name or password; too many attempts, try again in N s).
 */
(function () {
  "use strict";

  var form = document.getElementById("login-form");
  var error = document.getElementById("login-error");
  var button = document.getElementById("login-button");

  /**
   * Where to go after the login: a path on this server, never another site. The browser's URL
   * parser drops tabs and newlines and reads a backslash as a slash, so "/\t/host" would leave
   * for //host: anything with a control character, a space or a backslash is refused, and what
   * is left must resolve to this page's own origin.
   */
  function nextPath() {
    var next = new URLSearchParams(window.location.search).get("next") || "";
    if (!/^\/(?![\/\\])/.test(next) || /[\u0000-\u0020\u007f\\]/.test(next)) {
      return "/console";
    }
    var target = new URL(next, window.location.origin);
    if (target.origin !== window.location.origin) {
      return "/console";
    }
    return target.pathname + target.search + target.hash;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    button.disabled = true;
    GaitRest.api("POST", "/api/login", {
      username: document.getElementById("username").value.trim(),
      password: document.getElementById("password").value
    }).then(function () {
      window.location.assign(nextPath());
    }, function (err) {
      error.textContent = err.message;
      error.hidden = false;
      button.disabled = false;
      document.getElementById("password").select();
    });
  });
})();
