// Shared by runs.js, compare.js and compare_many.js: the page's runs JSON, parsed once, the
// per-commit plot data loader, and how values and deltas read, the same rule as the pages
// written in Python (a missing value is "—").
(function () {
  "use strict";
  var mlpages = window.mlpages = window.mlpages || {};
  var cached;
  // {columns, rows, bySha: sha -> row index, default_branch}, or null when the page did not load
  // data/runs-<hash>.js (window.mlpagesRuns).
  mlpages.runsData = function () {
    if (cached !== undefined) return cached;
    cached = window.mlpagesRuns || null;
    if (!cached) return cached;
    cached.bySha = {};
    cached.rows.forEach(function (row, i) { cached.bySha[row.s] = i; });
    return cached;
  };
  // The plot data of one commit: data/plots/<hash>.js sets window.mlpagesPlots[hash]. One script
  // element per hash however many charts ask; done(payload), or done(null) when it cannot load.
  var pending = {};
  mlpages.loadPlots = function (hash, done) {
    var plots = window.mlpagesPlots = window.mlpagesPlots || {};
    if (!hash) { done(null); return; }
    if (plots[hash]) { done(plots[hash]); return; }
    if (pending[hash]) { pending[hash].push(done); return; }
    pending[hash] = [done];
    var settle = function () {
      var waiting = pending[hash];
      delete pending[hash];
      waiting.forEach(function (fn) { fn(plots[hash] || null); });
    };
    var script = document.createElement("script");
    script.src = "data/plots/" + hash + ".js";
    script.onload = settle;
    script.onerror = settle;
    document.head.appendChild(script);
  };
  // 5 significant digits for fractions, integers as they are.
  mlpages.formatValue = function (v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number" && !Number.isInteger(v)) return String(Number(v.toPrecision(5)));
    return String(v);
  };
  // A signed change, 3 significant digits; a tiny one in exponent form so it never reads 0.
  mlpages.formatDelta = function (d) {
    var s = Math.abs(d) >= 1e-3 || d === 0 ? String(Number(d.toPrecision(3))) : d.toExponential(2);
    return (d > 0 ? "+" : "") + s;
  };
})();
