// Innbetaling: choosing the post or the customer a payment is for (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  function onChange(ev) {
    var input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") return;
    var form = input.form;
    if (!form) return;
    // A payment goes to one post or to one customer, never both.
    var other = input.name === "post_id" ? "customer_id" : input.name === "customer_id" ? "post_id" : null;
    if (!other) return;
    form.querySelectorAll('input[type=radio][name="' + other + '"]').forEach(function (box) { box.checked = false; });
    var amount = form.querySelector('input[name="amount"]');
    if (amount && input.dataset.open && !amount.value) {
      amount.value = input.dataset.open.replace(".", ",");
    }
  }

  document.addEventListener("change", onChange);
})();
