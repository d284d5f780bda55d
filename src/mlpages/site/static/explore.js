// The runs table's "Explore" panel: parallel coordinates of the params that vary -> a chosen
// metric, and a scatter of any param or metric against any metric, over the rows the table shows
// (filters and collapsed experiments included). Plotly is loaded when the panel is first opened.
// The parallel coordinates are drawn with SVG line traces, not Plotly's "parcoords": that one
// needs WebGL and compiles code at run time (regl), which the site's CSP (script-src 'self',
// no 'unsafe-eval') refuses.
(function () {
  "use strict";
  var panel = document.getElementById("runs-explore");
  var data = window.mlpages && window.mlpages.runsData();
  if (!panel || !data) return;
  var cols = data.columns, rows = data.rows;
  var pickMetric = document.getElementById("explore-metric");
  var pickX = document.getElementById("explore-x"), pickY = document.getElementById("explore-y");
  var MAX_DIMS = 24;
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function label(c) { return cols[c].k; }
  function option(select, c) {
    var o = document.createElement("option");
    o.value = String(c); o.textContent = cols[c].g + " · " + cols[c].k; o.title = cols[c].f;
    select.appendChild(o);
  }
  var metrics = [], params = [];
  cols.forEach(function (col, c) { (col.g === "metric" ? metrics : params).push(c); });
  metrics.forEach(function (c) { option(pickMetric, c); option(pickY, c); });
  params.concat(metrics).forEach(function (c) { option(pickX, c); });
  if (!metrics.length) { panel.hidden = true; return; }
  function name(row) { return row.x !== undefined ? "[" + row.x + "]" : row.s.slice(0, 8) + " " + row.m.slice(0, 40); }
  function visible() { return (window.mlpages.runsScope ? window.mlpages.runsScope() : rows.map(function (r, i) { return i; })); }
  // Viridis, 5 stops: the colour of a run is its metric value on this scale.
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  var BINS = 8;
  function viridis(t) {
    var x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1), k = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - k;
    var c = VIRIDIS[k].map(function (a, j) { return Math.round(a + (VIRIDIS[k + 1][j] - a) * f); });
    return "rgb(" + c.join(",") + ")";
  }
  // An axis: each run's value scaled to 0..1 (text values as evenly spaced categories), and ticks.
  function axis(c, list) {
    var values = list.map(function (i) { return rows[i].v[c]; });
    if (values.every(function (v) { return typeof v === "number"; })) {
      var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values), span = hi - lo || 1;
      return { c: c, pos: values.map(function (v) { return (v - lo) / span; }), ticks: [[0, lo], [1, hi]], raw: values };
    }
    var cats = [];
    values.forEach(function (v) { var s = String(v); if (cats.indexOf(s) === -1) cats.push(s); });
    var step = cats.length > 1 ? 1 / (cats.length - 1) : 0;
    return {
      c: c, pos: values.map(function (v) { return cats.indexOf(String(v)) * step; }), raw: values,
      ticks: cats.slice(0, 10).map(function (s, k) { return [k * step, s]; })
    };
  }
  function parallel(list, dims, metric) {
    var axes = dims.map(function (c) { return axis(c, list); }), last = axes[axes.length - 1];
    var lo = Math.min.apply(null, last.raw), hi = Math.max.apply(null, last.raw);
    var better = cols[metric].d < 0 ? -1 : 1, traces = [];
    var mode = list.length > 300 ? "lines" : "lines+markers"; // thousands of SVG dots are slow
    for (var b = 0; b < BINS; b++) traces.push({ type: "scatter", mode: mode, x: [], y: [], text: [], hoverinfo: "text",
      line: { width: 1.6, color: viridis(b / (BINS - 1)) }, marker: { size: 4, color: viridis(b / (BINS - 1)) }, showlegend: false });
    list.forEach(function (i, n) {
      var t = hi > lo ? (last.raw[n] - lo) / (hi - lo) : 1;
      var bin = Math.min(BINS - 1, Math.floor((better > 0 ? t : 1 - t) * BINS)), tr = traces[bin];
      var who = esc((rows[i].x !== undefined ? "[" + rows[i].x + "]" : rows[i].s.slice(0, 8)));
      axes.forEach(function (a, k) {
        tr.x.push(k); tr.y.push(a.pos[n]);
        tr.text.push(who + "<br>" + esc(label(a.c)) + " = " + esc(window.mlpages.formatValue(a.raw[n])));
      });
      tr.x.push(null); tr.y.push(null); tr.text.push("");
    });
    var notes = [];
    axes.forEach(function (a, k) {
      notes.push({ x: k, y: 1.08, text: "<b>" + esc(label(a.c)) + "</b>", showarrow: false, font: { size: 11 } });
      a.ticks.forEach(function (tick) {
        notes.push({ x: k, y: tick[0], xanchor: "right", xshift: -4, showarrow: false, font: { size: 10, color: "#6b7280" },
          text: esc(typeof tick[1] === "number" ? window.mlpages.formatValue(tick[1]) : String(tick[1]).slice(0, 16)) });
      });
    });
    var shapes = axes.map(function (a, k) { return { type: "line", x0: k, x1: k, y0: 0, y1: 1, line: { color: "#9ca3af", width: 1 } }; });
    return { traces: traces.filter(function (t) { return t.x.length; }), notes: notes, shapes: shapes, n: axes.length };
  }
  function draw() {
    if (!window.Plotly || !panel.open) return;
    var metric = Number(pickMetric.value);
    var list = visible().filter(function (i) { return typeof rows[i].v[metric] === "number"; });
    var varying = params.filter(function (c) {
      var seen = {}, n = 0;
      list.forEach(function (i) { var k = String(rows[i].v[c]); if (!seen[k]) { seen[k] = 1; n++; } });
      return n > 1;
    }).slice(0, MAX_DIMS);
    var chart = parallel(list, varying.concat([metric]), metric);
    window.Plotly.react(document.getElementById("explore-parcoords"), chart.traces, {
      title: { text: esc(list.length + " runs · params that vary → " + label(metric) + " (colour: yellow is best)"), x: 0, font: { size: 14 } },
      height: 380, margin: { l: 70, r: 30, t: 70, b: 20 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      xaxis: { visible: false, range: [-0.5, chart.n - 0.5] }, yaxis: { visible: false, range: [-0.05, 1.12] },
      annotations: chart.notes, shapes: chart.shapes, hovermode: "closest"
    }, { responsive: true, displaylogo: false });
    var x = Number(pickX.value), y = Number(pickY.value);
    var points = visible().filter(function (i) { return rows[i].v[y] !== null && rows[i].v[x] !== null; });
    var groups = [["commits", function (r) { return r.x === undefined; }, "#4e79a7"], ["experiments", function (r) { return r.x !== undefined; }, "#f28e2b"]];
    var traces = groups.map(function (g) {
      var mine = points.filter(function (i) { return g[1](rows[i]); });
      return {
        type: "scatter", mode: "markers", name: g[0], marker: { color: g[2], size: 9, opacity: 0.85 },
        x: mine.map(function (i) { var v = rows[i].v[x]; return typeof v === "string" ? esc(v) : v; }),
        y: mine.map(function (i) { return rows[i].v[y]; }),
        text: mine.map(function (i) { return esc(name(rows[i])); }), hoverinfo: "text+x+y"
      };
    }).filter(function (t) { return t.x.length; });
    window.Plotly.react(document.getElementById("explore-scatter"), traces, {
      title: { text: esc(label(y) + " vs " + label(x)), x: 0, font: { size: 14 } }, height: 380,
      margin: { l: 60, r: 16, t: 44, b: 50 }, xaxis: { title: { text: esc(label(x)) } },
      yaxis: { title: { text: esc(label(y)) } }, paper_bgcolor: "rgba(0,0,0,0)"
    }, { responsive: true, displaylogo: false });
    document.body.setAttribute("data-explore-drawn", String(list.length));
  }
  function withPlotly(done) {
    if (window.Plotly) { done(); return; }
    var script = document.createElement("script");
    script.src = panel.getAttribute("data-plotly");
    script.onload = done;
    document.head.appendChild(script);
  }
  if (params.length) pickX.value = String(params[0]);
  panel.addEventListener("toggle", function () { if (panel.open) withPlotly(draw); });
  [pickMetric, pickX, pickY].forEach(function (s) { s.addEventListener("change", draw); });
  document.addEventListener("mlpages:runs-view", draw);
})();
