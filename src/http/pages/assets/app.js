// The inbox's little script: served by the binary as /assets/app.js (no inline scripts: the
// Content-Security-Policy allows only this file). The pages work without it.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Buttons that ask before they act (discard, delete, re-run triage).
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // A form sends once: its buttons are disabled while the next page loads.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return;
      }
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });

  // The draft box: say when the text differs from the draft as written, and keep the person
  // from leaving with an edit that is neither saved nor sent.
  var box = document.getElementById("content");
  if (box) {
    var original = box.value;
    var leaving = false;
    var status = document.getElementById("edit-status");
    box.addEventListener("input", function () {
      if (!status) {
        return;
      }
      status.textContent = box.value === original ? "" : "Edited: not saved yet.";
    });
    if (box.form) {
      box.form.addEventListener("submit", function () {
        leaving = true;
      });
    }
    window.addEventListener("beforeunload", function (event) {
      if (!leaving && box.value !== original) {
        event.preventDefault();
      }
    });
  }

  // A key shown once: a click selects it for copying.
  document.querySelectorAll(".copyable").forEach(function (code) {
    code.addEventListener("click", function () {
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    });
  });
});
