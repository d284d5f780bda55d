// Compare many runs (commits or DVC experiments), selected in the URL: compare.html#sel=sha,sha,…
// Params and metrics side by side (differing ones first) and every plot of the runs overlaid,
// one colour per run on every chart. Plot data comes from data/plots/<hash>.js (<script src>,
// so it works from file://). Repository strings go in through textContent; Plotly renders HTML
// in names and titles, so those are escaped first.
(function () {
  "use strict";
  var data = window.mlpages.runsData();
  var root = document.getElementById("many");
  if (!data || !root) return;
  var cols = data.columns, rows = data.rows, bySha = data.bySha;
  var fmt = window.mlpages.formatValue, fmtDelta = window.mlpages.formatDelta;
  var MAX = 8;
  // Tableau 10: distinguishable, and the same run keeps its colour on every chart.
  var COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];
  var DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"];

  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== null && text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function name(row) {
    if (row.x !== undefined) return "[" + row.x + "]";
    var ref = row.r.filter(function (r) { return r[1] === "branch" || r[1] === "tag"; })[0];
    return row.s.slice(0, 8) + (ref ? " " + ref[0] : "");
  }
  function selected() {
    var match = /(?:^#|&)sel=([^&]*)/.exec(location.hash);
    if (!match) return null;
    var out = [], text;
    try { text = decodeURIComponent(match[1]); } catch (e) { text = ""; } // a malformed %-escape
    text.split(",").forEach(function (prefix) {
      if (!/^[0-9a-f]{4,40}$/.test(prefix) || out.length >= MAX) return;
      for (var i = 0; i < rows.length; i++) {
        if (rows[i].s.indexOf(prefix) === 0) { if (out.indexOf(i) === -1) out.push(i); return; }
      }
    });
    return out;
  }
  function setSelection(list) {
    history.replaceState(null, "", "#sel=" + list.map(function (i) { return rows[i].s.slice(0, 12); }).join(","));
    render();
  }
  function legend(sel) {
    var box = document.getElementById("many-legend");
    box.textContent = "";
    sel.forEach(function (i, n) {
      var chip = el("span", null, "chip-run"), swatch = el("span", null, "swatch");
      swatch.style.background = COLORS[n];
      var link = el("a", name(rows[i]));
      link.href = "commit/" + rows[i].s.slice(0, 12) + ".html";
      var drop = el("button", "✕", "drop");
      drop.type = "button"; drop.setAttribute("aria-label", "Remove " + name(rows[i]));
      drop.addEventListener("click", function () { setSelection(sel.filter(function (j) { return j !== i; })); });
      chip.appendChild(swatch); chip.appendChild(link);
      if (rows[i].x !== undefined) chip.appendChild(el("span", "on " + rows[i].b.slice(0, 8), "muted small"));
      chip.appendChild(drop);
      box.appendChild(chip);
    });
  }
  function table(sel) {
    var head = document.querySelector("#many-table thead"), body = document.querySelector("#many-table tbody");
    head.textContent = ""; body.textContent = "";
    var tr = el("tr");
    ["Kind", "Name"].forEach(function (t) { tr.appendChild(el("th", t)); });
    sel.forEach(function (i, n) {
      var th = el("th", name(rows[i]), "num run");
      th.style.borderBottom = "3px solid " + COLORS[n];
      tr.appendChild(th);
    });
    head.appendChild(tr);
    var differ = [], same = [];
    cols.forEach(function (col, c) {
      var values = sel.map(function (i) { return rows[i].v[c]; });
      if (values.every(function (v) { return v === null; })) return;
      (values.some(function (v) { return v !== values[0]; }) ? differ : same).push(c);
    });
    var first = sel.length ? rows[sel[0]] : null;
    differ.concat(same).forEach(function (c) {
      var col = cols[c], row = el("tr", null, differ.indexOf(c) !== -1 ? "st-changed" : "st-same");
      row.appendChild(el("td", col.g));
      var label = el("td"), code = el("code", col.k);
      label.title = col.f + ":" + col.k; label.appendChild(code); row.appendChild(label);
      var nums = sel.map(function (i) { return rows[i].v[c]; }).filter(function (v) { return typeof v === "number"; });
      var best = col.g === "metric" && nums.length > 1 ? (col.d > 0 ? Math.max : Math.min).apply(null, nums) : null;
      sel.forEach(function (i, n) {
        var v = rows[i].v[c], cell = el("td", fmt(v), "num");
        if (best !== null && v === best) cell.classList.add("best");
        if (n > 0 && typeof v === "number" && typeof first.v[c] === "number" && v !== first.v[c]) {
          var d = v - first.v[c], span = el("span", " " + fmtDelta(d), "d");
          span.classList.add(col.g === "metric" ? (d * col.d > 0 ? "better" : "worse") : "changed");
          cell.appendChild(span);
        }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    document.getElementById("many-summary").textContent = sel.length + " runs · " + differ.length +
      " of " + (differ.length + same.length) + " params and metrics differ (listed first; Δ against the first run)";
  }
  function load(i, done) { window.mlpages.loadPlots(rows[i].pl, done); }
  function loadAll(sel, done) {
    var out = new Array(sel.length), left = sel.length;
    if (!left) { done(out); return; }
    sel.forEach(function (i, n) { load(i, function (payload) { out[n] = payload; if (--left === 0) done(out); }); });
  }
  // One series per (file, field) of a plot definition; x per DVC: the field, or the row index.
  function commonDir(paths) {
    if (!paths.length) return "";
    var parts = paths[0].split("/").slice(0, -1), n = parts.length;
    paths.forEach(function (p) { var q = p.split("/"); var k = 0; while (k < n && q[k] === parts[k]) k++; n = k; });
    return n ? parts.slice(0, n).join("/") + "/" : "";
  }
  function series(payload, def) {
    var out = [], pairs = def.y.length ? def.y : def.files.map(function (f) { return [f, null]; });
    var prefix = commonDir(pairs.map(function (p) { return p[0]; }));
    pairs.forEach(function (pair) {
      var t = payload.files[pair[0]];
      if (!t) return;
      var field = pair[1] || t.c[t.c.length - 1], yi = t.c.indexOf(field), xi = def.x ? t.c.indexOf(def.x) : -1;
      if (yi < 0) return;
      var file = pairs.length > 1 ? pair[0].slice(prefix.length) : pair[0].split("/").pop();
      out.push({
        label: file.replace(/\.(tsv|csv|json|ya?ml)$/, "") + (pair[1] && file.indexOf(field) === -1 ? ": " + field : ""),
        x: t.r.map(function (r, k) { var x = xi >= 0 ? r[xi] : k; return typeof x === "string" ? esc(x) : x; }),
        y: t.r.map(function (r) { return typeof r[yi] === "number" && isFinite(r[yi]) ? r[yi] : null; })
      });
    });
    return out;
  }
  function plots(sel, token) {
    var box = document.getElementById("many-plots");
    box.textContent = "";
    if (!window.Plotly) return;
    loadAll(sel, function (payloads) {
      if (token !== current) return;
      var defs = [], byId = {};
      payloads.forEach(function (p) {
        if (p) p.defs.forEach(function (d) { if (!byId[d.id]) { byId[d.id] = d; defs.push(d.id); } });
      });
      defs.forEach(function (id, n) {
        var traces = [];
        payloads.forEach(function (p, r) {
          var def = p && p.defs.filter(function (d) { return d.id === id; })[0];
          if (!def) return;
          var scatter = def.template.indexOf("scatter") === 0;
          series(p, def).forEach(function (s, k) {
            traces.push({
              type: "scatter", mode: scatter ? "markers" : "lines", x: s.x, y: s.y,
              name: esc(name(rows[sel[r]]) + " · " + s.label), legendgroup: "run" + r,
              line: { color: COLORS[r], dash: DASHES[k % DASHES.length], width: 2 }, marker: { color: COLORS[r] }
            });
          });
        });
        if (!traces.length) return;
        var div = el("div", null, "plot");
        div.setAttribute("data-overlay", String(n));
        box.appendChild(div);
        window.Plotly.newPlot(div, traces, {
          title: { text: esc(byId[id].title || id), x: 0, font: { size: 14 } }, height: 340,
          margin: { l: 56, r: 16, t: 44, b: 44 }, legend: { font: { size: 11 } },
          xaxis: { title: { text: esc(byId[id].x || "step") } }, paper_bgcolor: "rgba(0,0,0,0)"
        }, { responsive: true, displaylogo: false });
      });
      if (!box.children.length) box.appendChild(el("p", "None of these runs has line plots.", "muted"));
      document.body.setAttribute("data-many-plots", String(box.children.length));
    });
  }
  function picker(sel) {
    var add = document.getElementById("many-add");
    add.textContent = "";
    add.appendChild(el("option", sel.length >= MAX ? "(at most " + MAX + " runs)" : "Add a run…"));
    add.disabled = sel.length >= MAX;
    rows.forEach(function (row, i) {
      if (sel.indexOf(i) !== -1) return;
      var option = el("option", row.x !== undefined ? "   " + name(row) + " on " + row.b.slice(0, 8) : row.s.slice(0, 8) + " " + row.m.slice(0, 60));
      option.value = String(i);
      add.appendChild(option);
    });
  }
  var current = 0;
  function render() {
    var sel = selected();
    root.hidden = sel === null;
    if (sel === null) return;
    current += 1;
    legend(sel); table(sel); picker(sel); plots(sel, current);
    if (window.mlpagesExplore) window.mlpagesExplore(sel);
    document.body.setAttribute("data-many-ready", String(sel.length));
  }
  document.getElementById("many-add").addEventListener("change", function (event) {
    var i = Number(event.target.value), sel = selected() || [];
    if (!isNaN(i) && sel.length < MAX) setSelection(sel.concat([i]));
  });
  window.addEventListener("hashchange", render);
  render();
})();
