// Shared by runs.js and compare.js: the page's runs JSON, parsed once, and how values and deltas
// read, the same rule as the pages written in Python (a missing value is "—").
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
