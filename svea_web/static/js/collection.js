// Inkassosaker: keyboard use of the tabs, the count of marked rows, and focus on the chosen case.
(function () {
  "use strict";

  var focusCaseNext = false;

  function updateSelection() {
    var form = document.getElementById("new-cases");
    if (!form) return;
    var marked = form.querySelectorAll("input[type=checkbox][data-row]:checked").length;
    var label = form.querySelector("[data-selected-count]");
    if (label) {
      var en = document.documentElement.lang === "en";
      label.textContent = marked ? marked + (en ? " marked" : " markert") : "";
    }
    var button = document.getElementById("create-cases");
    if (button && !button.dataset.blocked) button.disabled = marked === 0;
  }

  // Arrow keys, Home and End move between the tabs (the ARIA tabs pattern); Enter opens one.
  document.addEventListener("keydown", function (ev) {
    var tab = ev.target.closest ? ev.target.closest("[role=tab]") : null;
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role=tab]"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (ev.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
    else if (ev.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else if (ev.key === "Home") next = tabs[0];
    else if (ev.key === "End") next = tabs[tabs.length - 1];
    if (next) {
      ev.preventDefault();
      next.focus();
    }
  });

  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("#new-cases input[type=checkbox]")) updateSelection();
  });
  document.addEventListener("selection-changed", updateSelection);

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest("a[data-case-link]") : null;
    if (!link) return;
    focusCaseNext = true;
    document.querySelectorAll("tr[data-case].selected").forEach(function (row) { row.classList.remove("selected"); });
    var row = link.closest("tr");
    if (row) row.classList.add("selected");
  });

  document.addEventListener("htmx:afterSettle", function (ev) {
    var target = ev.detail.target;
    if (target && target.id === "case-detail" && focusCaseNext) {
      focusCaseNext = false;
      var heading = document.getElementById("case-heading");
      if (heading) heading.focus();
    }
    if (target && target.id === "collection-panel") {
      updateSelection();
      // After switching tab by keyboard, keep focus on the chosen tab.
      var active = document.activeElement;
      if (!active || active === document.body) {
        var panel = document.getElementById("collection-panel");
        var selected = panel && panel.querySelector("[role=tab][aria-selected=true]");
        if (selected) selected.focus();
      }
    }
  });

  document.addEventListener("DOMContentLoaded", updateSelection);
})();
