// Settings pages: open HTMX-loaded dialogs as modal dialogs, and close them on Avbryt.
(function () {
  "use strict";

  function openDialogs(root) {
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : root.querySelectorAll("dialog[data-modal]");
    dialogs.forEach(function (dialog) {
      if (dialog.dataset.shown) return;
      dialog.dataset.shown = "1";
      // Rendered open so that it shows without script; shown again as modal to trap focus.
      if (dialog.open) dialog.close();
      dialog.showModal();
      var firstError = dialog.querySelector("[aria-invalid=true]");
      if (firstError) firstError.focus();
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-close-dialog]");
    if (!button) return;
    var dialog = button.closest("dialog");
    if (dialog) {
      dialog.close();
      dialog.remove();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
  document.addEventListener("htmx:load", function (ev) { openDialogs(ev.target); });
})();
