/* "Add another" for Django formsets: clones the row <template> of a [data-formset] container.
   Works for nested formsets: each container has its own prefix placeholder (data-placeholder). */
(function () {
  "use strict";

  function ownChild(container, selector) {
    return Array.prototype.find.call(container.children, function (el) { return el.matches(selector); });
  }

  function addRow(container) {
    var prefix = container.dataset.formset;
    var total = container.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var template = ownChild(container, "template[data-formset-template]");
    var rows = ownChild(container, "[data-formset-rows]");
    if (!total || !template || !rows) { return; }
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.split(container.dataset.placeholder).join(String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = rows.lastElementChild;
    if (row.dataset.rowNoun) {
      // Named like the server-rendered rows: "Partner 3".
      row.setAttribute("aria-label", row.dataset.rowNoun + " " + rows.children.length);
    }
    row.dispatchEvent(new CustomEvent("formset:added", { bubbles: true }));
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) { return; }
    event.preventDefault();
    addRow(button.closest("[data-formset]"));
  });

  function reveal(root) {
    root.querySelectorAll("[data-formset-add]").forEach(function (button) { button.hidden = false; });
  }

  document.addEventListener("formset:added", function (event) { reveal(event.target); });
  reveal(document);
})();
