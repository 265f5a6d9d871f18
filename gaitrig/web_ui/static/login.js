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

  /** Where to go after the login: a local path, never another site (//host, scheme:). */
  function nextPath() {
    var next = new URLSearchParams(window.location.search).get("next") || "";
    return /^\/(?![\/\\])/.test(next) ? next : "/console";
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
