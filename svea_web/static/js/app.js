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

  function resumeSearch(root) {
    // A search box kept through a swap (hx-preserve) while its text was being typed: when the panel
    // around it was redrawn for another search text (a refresh that left before the typing), run the
    // search for what the box holds now, instead of losing it.
    var forms = root.matches && root.matches("form[data-searched]") ? [root] : root.querySelectorAll("form[data-searched]");
    Array.prototype.forEach.call(forms, function (form) {
      var box = form.querySelector("input[type=search]");
      if (box && box.value !== form.dataset.searched && window.htmx) window.htmx.trigger(form, "submit");
    });
  }

  function init(root) {
    bindSelectAll(root);
    bindAutoSubmit(root);
    bindConfirm(root);
    resumeSearch(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (ev) { init(ev.target); });
  // An error answer to an HTMX request is not swapped in; show the server's own explanation (the error
  // fragment it renders for HTMX) in the flash area, or a plain line when there is none (network down).
  document.addEventListener("htmx:responseError", function (ev) { showError(ev.detail.xhr); });
  document.addEventListener("htmx:sendError", function () { showError(null); });

  function showError(xhr) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var message = null;
    if (xhr && xhr.responseText) {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      message = doc.querySelector(".flash-error");
    }
    var div = document.createElement("div");
    div.className = "flash flash-error";
    div.setAttribute("role", "alert");
    if (message) {
      // Rebuilt from text: nothing of the answer's markup is inserted as HTML.
      var strong = message.querySelector("strong");
      if (strong) {
        var title = document.createElement("strong");
        title.textContent = strong.textContent;
        div.appendChild(title);
        div.appendChild(document.createTextNode(" " + message.textContent.replace(strong.textContent, "").trim()));
      } else {
        div.textContent = message.textContent.trim();
      }
    } else {
      var english = document.documentElement.lang === "en";
      var status = xhr ? " (" + xhr.status + ")" : "";
      div.textContent = english
        ? "The request failed" + status + ". Check the connection and try again."
        : "Forespørselen feilet" + status + ". Sjekk tilkoblingen og prøv igjen.";
    }
    box.appendChild(div);
  }
})();
