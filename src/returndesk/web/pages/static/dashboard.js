// The dashboard's charts (Chart.js, vendored in static/vendor): the numbers come from the
// page itself, where the same figures are also in tables.
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || !window.Chart) return;
  var data = JSON.parse(holder.textContent || "{}");
  var colour = "#1f6feb";

  function draw(name, type) {
    var canvas = document.querySelector('canvas[data-chart="' + name + '"]');
    var series = data[name];
    if (!canvas || !series) return;
    new window.Chart(canvas, {
      type: type,
      data: {
        labels: series.labels,
        datasets: [{ label: series.title, data: series.cases, backgroundColor: colour, borderColor: colour }]
      },
      options: {
        animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.setAttribute("data-drawn", "1");
  }

  draw("groups", "bar");
  draw("days", "line");
})();
