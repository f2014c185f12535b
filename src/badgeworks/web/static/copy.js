// The console's Copy buttons (console/_macros.html, shown_once): copy the read-only field
// named by data-copy and say so in the status line beside it. Plain script, no framework;
// the buttons stay hidden where scripts do not run, and the field can still be copied by
// hand. Over plain HTTP (no Clipboard API) the field's selection is copied instead.
"use strict";
(function () {
  function say(button, text) {
    var status = document.getElementById(button.getAttribute("data-status"));
    if (status) {
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }
  }
  function bySelection(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }
  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { say(button, button.getAttribute("data-copied")); };
    var failed = function () {
      if (bySelection(field)) done();
      else say(button, button.getAttribute("data-failed"));
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, failed);
    } else {
      failed();
    }
  }
  function start() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].hasAttribute("data-ready")) continue;
      buttons[i].setAttribute("data-ready", "");
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
