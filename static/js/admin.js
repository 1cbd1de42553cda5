/* Django admin additions: a tabular inline labels its fields only with the column headers, so each
   input, select and "Delete" box gets an accessible name "<column> (row n)"; help icons built by
   the admin's SelectFilter carry an aria-label without a role, which ARIA forbids on a <span>. */
(function () {
  "use strict";

  function hasName(control) {
    if (control.getAttribute("aria-label") || control.getAttribute("aria-labelledby")) { return true; }
    if (control.id && document.querySelector('label[for="' + CSS.escape(control.id) + '"]')) { return true; }
    return Boolean(control.closest("label"));
  }

  function labelTable(table) {
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/\s+/g, " ").trim();
    });
    table.querySelectorAll("tbody tr.form-row").forEach(function (row, index) {
      Array.prototype.forEach.call(row.children, function (cell, column) {
        var header = headers[column];
        if (!header) { return; }
        cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (control) {
          if (!hasName(control)) { control.setAttribute("aria-label", header + " (" + (index + 1) + ")"); }
        });
      });
    });
  }

  function fixTooltips(root) {
    root.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  function run() {
    document.querySelectorAll(".tabular table").forEach(labelTable);
    fixTooltips(document);
  }

  document.addEventListener("formset:added", run);
  // SelectFilter builds its widgets on "load"; run after it.
  window.addEventListener("load", function () { setTimeout(run, 0); });
  if (document.readyState !== "loading") { run(); } else { document.addEventListener("DOMContentLoaded", run); }
})();
