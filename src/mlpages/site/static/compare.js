// Compare any two commits: metric/param diff table from the runs JSON, and the plots both commits
// define drawn over each other (plot data comes from data/plots/<hash>.js, loaded on demand).
(function () {
  "use strict";
  var data = window.mlpages.runsData();
  var selectA = document.getElementById("cmp-a"), selectB = document.getElementById("cmp-b");
  if (!data || !selectA || !selectB) return;
  var cols = data.columns, rows = data.rows, bySha = data.bySha;
  var plotIndex = {};
  rows.forEach(function (row) { if (row.pl) plotIndex[row.s] = row.pl; });
  var fmt = window.mlpages.formatValue;
  var changedOnly = document.getElementById("cmp-changed");
  var tbody = document.querySelector("#cmp-table tbody");
  var plots = document.getElementById("cmp-plots");

  function label(row) {
    var refs = row.r.map(function (r) { return r[0]; }).join(", ");
    var subject = row.m.length > 70 ? row.m.slice(0, 69) + "…" : row.m;
    if (row.x !== undefined) return row.s.slice(0, 8) + " [" + row.x + "] experiment on " + row.b.slice(0, 8);
    return row.s.slice(0, 8) + (refs ? " [" + refs + "]" : "") + " " + subject;
  }
  rows.forEach(function (row) {
    [selectA, selectB].forEach(function (select) {
      var option = document.createElement("option");
      option.value = row.s; option.textContent = label(row);
      select.appendChild(option);
    });
  });
  function plotText(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function td(text, cls) { var el = document.createElement("td"); el.textContent = text; if (cls) el.className = cls; return el; }
  function renderTable(a, b) {
    tbody.textContent = "";
    var changed = 0;
    cols.forEach(function (col, c) {
      var va = a.v[c], vb = b.v[c], differs = va !== vb;
      if (differs) changed++;
      if (changedOnly.checked && !differs) return;
      var tr = document.createElement("tr");
      tr.appendChild(td(col.g)); tr.appendChild(td(col.f, "file"));
      var name = document.createElement("td"), code = document.createElement("code");
      code.textContent = col.k; name.appendChild(code); tr.appendChild(name);
      tr.appendChild(td(fmt(va), "num")); tr.appendChild(td(fmt(vb), "num"));
      var delta = td("", "num delta");
      if (typeof va === "number" && typeof vb === "number" && differs) {
        var d = vb - va;
        delta.textContent = window.mlpages.formatDelta(d);
        delta.classList.add(col.g === "metric" ? (d * col.d > 0 ? "better" : "worse") : "changed");
      } else if (differs) {
        delta.textContent = va === null ? "added" : vb === null ? "removed" : "changed";
        delta.classList.add("changed");
      }
      tr.appendChild(delta);
      if (differs) tr.className = "st-changed";
      tbody.appendChild(tr);
    });
    document.getElementById("cmp-summary").textContent =
      changed + " of " + cols.length + " params and metrics differ between " + a.s.slice(0, 8) + " and " + b.s.slice(0, 8) + ".";
  }
  function load(sha, done) { window.mlpages.loadPlots(plotIndex[sha], done); }
  function series(payload, def) {
    var out = [];
    var pairs = def.y.length ? def.y : def.files.map(function (f) { return [f, null]; });
    pairs.forEach(function (pair) {
      var table = payload.files[pair[0]];
      if (!table) return;
      var field = pair[1] || table.c[table.c.length - 1];
      var yi = table.c.indexOf(field), xi = def.x ? table.c.indexOf(def.x) : -1;
      if (yi < 0) return;
      out.push({
        name: pair[0] + ": " + field,
        x: table.r.map(function (r, i) {
          var x = xi >= 0 ? r[xi] : i;
          return typeof x === "string" ? plotText(x) : x; // plotly renders HTML in category labels
        }),
        y: table.r.map(function (r) { return typeof r[yi] === "number" ? r[yi] : null; })
      });
    });
    return out;
  }
  function renderPlots(a, b, token) {
    plots.textContent = "";
    if (!window.Plotly) return;
    load(a.s, function (pa) {
      load(b.s, function (pb) {
        if (token !== current || !pa || !pb) return;
        pb.defs.forEach(function (def, n) {
          var other = pa.defs.filter(function (d) { return d.id === def.id; })[0];
          if (!other) return;
          var traces = [];
          [[pa, other, a, "dash"], [pb, def, b, null]].forEach(function (side) {
            series(side[0], side[1]).forEach(function (s) {
              var scatter = side[1].template.indexOf("scatter") === 0;
              traces.push({
                type: "scatter", mode: scatter ? "markers" : "lines", x: s.x, y: s.y,
                name: plotText(side[2].s.slice(0, 8) + " · " + s.name),
                line: side[3] ? { dash: side[3] } : {}
              });
            });
          });
          if (!traces.length) return;
          var div = document.createElement("div");
          div.className = "plot"; div.setAttribute("data-overlay", String(n));
          plots.appendChild(div);
          window.Plotly.newPlot(div, traces, {
            title: { text: plotText(def.title), x: 0, font: { size: 14 } }, height: 320,
            margin: { l: 56, r: 16, t: 44, b: 44 }, legend: { orientation: "h", y: -0.2 },
            xaxis: { title: { text: plotText(def.x || "step") } }, paper_bgcolor: "rgba(0,0,0,0)"
          }, { responsive: true, displaylogo: false });
        });
      });
    });
  }
  var current = 0;
  function update(quiet) {
    var a = rows[bySha[selectA.value]], b = rows[bySha[selectB.value]];
    if (!a || !b) return;
    current += 1;
    // The compare-many view owns #sel=…: the pair picker leaves it alone until it is used.
    if (quiet !== true) {
      history.replaceState(null, "", "#a=" + a.s.slice(0, 12) + "&b=" + b.s.slice(0, 12));
      window.dispatchEvent(new HashChangeEvent("hashchange")); // the compare-many view closes
    }
    renderTable(a, b);
    renderPlots(a, b, current);
  }
  function pick(prefix) {
    if (!prefix) return null;
    var row = rows.filter(function (r) { return r.s.indexOf(prefix) === 0; })[0];
    return row ? row.s : null;
  }
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) { var kv = part.split("="); hash[kv[0]] = kv[1]; });
  if (rows.length) {
    var b = pick(hash.b) || rows[0].s;
    var parent = rows[bySha[b]].p;
    selectB.value = b;
    selectA.value = pick(hash.a) || (parent && bySha[parent] !== undefined ? parent : rows[Math.min(1, rows.length - 1)].s);
    update(hash.sel !== undefined);
  }
  selectA.addEventListener("change", function () { update(); });
  selectB.addEventListener("change", function () { update(); });
  changedOnly.addEventListener("change", function () { update(); });
  document.getElementById("cmp-swap").addEventListener("click", function () {
    var a = selectA.value; selectA.value = selectB.value; selectB.value = a; update();
  });
  document.body.setAttribute("data-compare-ready", "1");
})();
