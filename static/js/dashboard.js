/* Dashboard charts (Chart.js); the figures come from the page's "chart-data" JSON script, and each
 * chart has a table with the same figures next to it for screen readers and printing. */
(function () {
  "use strict";

  var PALETTE = ["#0033a0", "#5b92e5", "#ffb81c", "#d9480f", "#2b8a3e", "#862e9c", "#0b7285", "#868e96", "#e8590c", "#364fc7", "#a61e4d"];

  function bar(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    return new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign(
        {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: datasets.length > 1 } },
          scales: { x: { ticks: { autoSkip: false } }, y: { beginAtZero: true } },
        },
        options || {}
      ),
    });
  }

  function start() {
    if (typeof Chart === "undefined") return;
    var data = JSON.parse(document.getElementById("chart-data").textContent);
    bar("chart-sector", data.sector.labels, [{ label: "", data: data.sector.values, backgroundColor: PALETTE[0] }], {
      indexAxis: "y",
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    });
    bar(
      "chart-status",
      data.status.labels,
      [{ label: "", data: data.status.values, backgroundColor: data.status.labels.map(function (_, i) { return PALETTE[i % PALETTE.length]; }) }],
      { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    );
    bar(
      "chart-region",
      data.region.labels,
      data.region.datasets.map(function (d, i) { return { label: d.label, data: d.values, backgroundColor: PALETTE[i % PALETTE.length] }; })
    );
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
