/* Error summary of a refused form ([data-error-summary]): it takes the focus when the page opens, so
   screen readers read it first, and each of its links moves the focus to the field it names. */
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (!summary) { return; }

  summary.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-link]");
    if (!link) { return; }
    var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field) { return; }
    event.preventDefault();
    var group = field.closest("details");
    if (group) { group.open = true; }
    field.focus();
    field.scrollIntoView({ block: "center" });
  });

  summary.focus();
})();
