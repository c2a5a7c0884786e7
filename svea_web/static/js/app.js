// Small behaviours that need script; no inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  function bindSelectAll(root) {
    root.querySelectorAll("input[data-select-all]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      box.addEventListener("change", function () {
        var scope = document.querySelector(box.dataset.selectAll) || document;
        scope.querySelectorAll("input[type=checkbox][data-row]").forEach(function (row) {
          if (!row.disabled) row.checked = box.checked;
        });
        document.dispatchEvent(new Event("selection-changed"));
      });
    });
  }

  function bindAutoSubmit(root) {
    // <select data-autosubmit> in a form: submit when the choice changes.
    root.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      if (sel.dataset.bound) return;
      sel.dataset.bound = "1";
      sel.addEventListener("change", function () {
        if (sel.form) sel.form.requestSubmit();
      });
    });
  }

  function bindConfirm(root) {
    root.querySelectorAll("[data-confirm]").forEach(function (el) {
      if (el.dataset.confirmBound) return;
      el.dataset.confirmBound = "1";
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
      });
    });
  }

  function init(root) {
    bindSelectAll(root);
    bindAutoSubmit(root);
    bindConfirm(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (ev) { init(ev.target); });
  // A server error in an HTMX request: say so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (ev) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "flash flash-error";
    div.setAttribute("role", "alert");
    var status = ev.detail.xhr ? ev.detail.xhr.status : "";
    div.textContent = (document.documentElement.lang === "en" ? "The request failed (" : "Forespørselen feilet (") + status + ")";
    box.appendChild(div);
  });
})();
