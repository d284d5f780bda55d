// Draws every figure of the page: <div data-figure="ID"> + <script type="application/json" id="ID">.
// Figures are drawn when they scroll into view, so long pages open fast.
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  function draw(div) {
    if (div.getAttribute("data-drawn")) return;
    div.setAttribute("data-drawn", "1");
    var source = document.getElementById(div.getAttribute("data-figure"));
    if (!source) return;
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(div, figure.data || [], figure.layout || {}, config);
  }
  window.mlpagesDrawFigure = draw;
  var divs = Array.prototype.slice.call(document.querySelectorAll("div[data-figure]"));
  if (!window.Plotly || !divs.length) return;
  if (!("IntersectionObserver" in window)) { divs.forEach(draw); return; }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); draw(entry.target); }
    });
  }, { rootMargin: "300px" });
  divs.forEach(function (div) { observer.observe(div); });
})();
