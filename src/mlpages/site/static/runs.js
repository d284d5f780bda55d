// The runs table: rows from the page's JSON, only the visible ones in the DOM (virtual scrolling).
// Every repository string goes into the page through textContent, never as markup.
(function () {
  "use strict";
  var data = window.mlpages.runsData();
  var wrap = document.getElementById("runs-wrap");
  if (!data || !wrap) return;
  var cols = data.columns, rows = data.rows, bySha = data.bySha;
  var fmt = window.mlpages.formatValue, fmtDelta = window.mlpages.formatDelta;
  var table = document.getElementById("runs-table");
  var thead = table.tHead, tbody = table.tBodies[0];
  var ROW = 28, OVERSCAN = 12;
  var FIXED = [
    { id: "sha", label: "Commit" }, { id: "msg", label: "Message" },
    { id: "author", label: "Author" }, { id: "date", label: "Date" }
  ];
  rows.forEach(function (row) {
    var parts = [row.s, row.m, row.a, date(row.t)];
    row.r.forEach(function (ref) { parts.push(ref[0]); });
    row.v.forEach(function (v) { if (v !== null) parts.push(String(v)); });
    row.hay = parts.join("\u0001").toLowerCase();
  });
  var state = { sort: null, dir: 1, filter: "", changed: false, mainline: false, baseline: null };
  var view = [], shown = [], lastRange = "";

  function date(t) { return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " "); }
  function isNum(v) { return typeof v === "number"; }
  function reference(i) {
    if (state.baseline !== null) return state.baseline === i ? null : rows[state.baseline];
    var p = rows[i].p;
    return p !== null && bySha[p] !== undefined ? rows[bySha[p]] : null;
  }
  function sortValue(row, key) {
    if (key === "sha") return row.s;
    if (key === "msg") return row.m.toLowerCase();
    if (key === "author") return row.a.toLowerCase();
    if (key === "date") return row.t;
    return row.v[key];
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (isNum(a) && isNum(b)) return (a - b) * state.dir;
    if (isNum(a)) return -1;
    if (isNum(b)) return 1;
    return String(a).localeCompare(String(b)) * state.dir;
  }
  function recompute() {
    var tokens = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
    view = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (state.mainline && !row.ml) continue;
      var ok = true;
      for (var t = 0; t < tokens.length && ok; t++) ok = row.hay.indexOf(tokens[t]) !== -1;
      if (ok) view.push(i);
    }
    if (state.sort !== null) {
      var key = state.sort;
      view.sort(function (x, y) {
        var c = compare(sortValue(rows[x], key), sortValue(rows[y], key));
        return c !== 0 ? c : x - y;
      });
    }
    shown = [];
    for (var c = 0; c < cols.length; c++) {
      if (!state.changed) { shown.push(c); continue; }
      var first, seen = false, varies = false;
      for (var j = 0; j < view.length && !varies; j++) {
        var v = rows[view[j]].v[c];
        if (!seen) { first = v; seen = true; } else if (v !== first) varies = true;
      }
      if (varies) shown.push(c);
    }
    document.getElementById("runs-count").textContent =
      view.length + " of " + rows.length + " commits" + (state.changed ? " · " + shown.length + " of " + cols.length + " columns" : "");
    renderHead();
    lastRange = "";
    renderBody();
  }
  function th(text, key, cls) {
    var el = document.createElement("th");
    el.textContent = text;
    if (cls) el.className = cls;
    if (key !== null) {
      el.setAttribute("data-key", String(key));
      if (state.sort === key) el.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
    }
    return el;
  }
  function renderHead() {
    thead.textContent = "";
    var groups = document.createElement("tr"); groups.className = "groups";
    var names = document.createElement("tr"); names.className = "cols";
    var g0 = th("Commit", null); g0.colSpan = FIXED.length + 1; groups.appendChild(g0);
    names.appendChild(th("", null, "sticky-col"));
    FIXED.forEach(function (f) { names.appendChild(th(f.label, f.id)); });
    var current = null, cell = null;
    shown.forEach(function (c) {
      var col = cols[c], group = col.g + "s · " + col.f;
      if (group !== current) {
        current = group; cell = th(group, null); cell.colSpan = 0; groups.appendChild(cell);
      }
      cell.colSpan += 1;
      var name = th(col.k, c, "num");
      name.title = col.f + ":" + col.k + (col.g === "metric" ? (col.d > 0 ? " (higher is better)" : " (lower is better)") : "");
      names.appendChild(name);
    });
    thead.appendChild(groups); thead.appendChild(names);
  }
  function td(text, cls) {
    var el = document.createElement("td");
    if (text !== null) el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }
  function renderRow(i) {
    var row = rows[i], ref = reference(i), tr = document.createElement("tr");
    if (state.baseline === i) tr.className = "baseline";
    var pinCell = td(null, "sticky-col"), pin = document.createElement("button");
    pin.type = "button"; pin.className = "pin"; pin.textContent = "◎";
    pin.title = "Use as the baseline for Δ"; pin.setAttribute("data-row", String(i));
    pinCell.appendChild(pin); tr.appendChild(pinCell);
    var shaCell = td(null, "sha"), link = document.createElement("a");
    link.href = "commit/" + row.s.slice(0, 12) + ".html"; link.className = "sha"; link.textContent = row.s.slice(0, 8);
    shaCell.appendChild(link);
    if (row.pb) {
      var dot = document.createElement("span");
      dot.className = "problem-dot"; dot.textContent = "!"; dot.title = row.pb + " problems";
      shaCell.appendChild(dot);
    }
    tr.appendChild(shaCell);
    var msg = td(null, "msg");
    row.r.forEach(function (r) { var b = document.createElement("span"); b.className = "badge ref-" + r[1]; b.textContent = r[0]; msg.appendChild(b); });
    msg.appendChild(document.createTextNode(row.m)); msg.title = row.m;
    tr.appendChild(msg);
    tr.appendChild(td(row.a, "muted"));
    tr.appendChild(td(date(row.t), "muted"));
    shown.forEach(function (c, n) {
      var v = row.v[c], col = cols[c];
      var first = n === 0 || cols[shown[n - 1]].f !== col.f || cols[shown[n - 1]].g !== col.g;
      var cell = td(fmt(v), "num v" + (first ? " first" : "") + (v === null ? " none" : ""));
      // Every value cell keeps a delta slot, so values stay aligned down the column.
      var span = document.createElement("span");
      span.className = "d";
      if (ref) {
        var old = ref.v[c];
        if (old !== v && !(v === null && old === null)) {
          // Shade changed params (the causes); metric changes speak through their coloured delta.
          if (col.g !== "metric" || !(isNum(v) && isNum(old))) cell.classList.add("chg");
          if (isNum(v) && isNum(old)) {
            var d = v - old;
            span.className = "d " + (col.g !== "metric" || d === 0 ? "changed" : (d * col.d > 0 ? "better" : "worse"));
            span.textContent = fmtDelta(d);
          }
        }
      }
      cell.appendChild(span);
      tr.appendChild(cell);
    });
    return tr;
  }
  function spacer(height) {
    var tr = document.createElement("tr"), cell = document.createElement("td");
    cell.colSpan = FIXED.length + 1 + shown.length; cell.style.height = height + "px"; cell.style.padding = "0"; cell.style.border = "0";
    tr.appendChild(cell); return tr;
  }
  function renderBody() {
    var head = thead.offsetHeight || 2 * ROW;
    var top = Math.max(0, Math.floor((wrap.scrollTop - head) / ROW) - OVERSCAN);
    var count = Math.ceil(wrap.clientHeight / ROW) + 2 * OVERSCAN;
    var end = Math.min(view.length, top + count);
    var range = top + ":" + end;
    if (range === lastRange) return;
    lastRange = range;
    var fragment = document.createDocumentFragment();
    fragment.appendChild(spacer(top * ROW));
    for (var k = top; k < end; k++) fragment.appendChild(renderRow(view[k]));
    fragment.appendChild(spacer((view.length - end) * ROW));
    tbody.textContent = "";
    tbody.appendChild(fragment);
  }
  function csvCell(value) {
    var s = value === null || value === undefined ? "" : String(value);
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s; // no spreadsheet formulas
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function downloadCsv() {
    var header = ["commit", "message", "author", "date", "refs"].concat(shown.map(function (c) { return cols[c].f + ":" + cols[c].k; }));
    var lines = [header.map(csvCell).join(",")];
    view.forEach(function (i) {
      var row = rows[i];
      var cells = [row.s, row.m, row.a, date(row.t), row.r.map(function (r) { return r[0]; }).join(" ")];
      shown.forEach(function (c) { cells.push(row.v[c]); });
      lines.push(cells.map(csvCell).join(","));
    });
    var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = "runs.csv";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }
  function setBaseline(i) {
    state.baseline = i;
    var label = document.getElementById("runs-baseline"), clear = document.getElementById("runs-clear-baseline");
    label.textContent = i === null ? "Δ vs parent" : "Δ vs baseline " + rows[i].s.slice(0, 8);
    clear.hidden = i === null;
    lastRange = ""; renderBody();
  }
  thead.addEventListener("click", function (event) {
    var cell = event.target.closest("th[data-key]");
    if (!cell) return;
    var raw = cell.getAttribute("data-key"), key = /^\d+$/.test(raw) ? Number(raw) : raw;
    if (state.sort === key) state.dir = -state.dir; else { state.sort = key; state.dir = typeof key === "number" ? -1 : 1; }
    recompute();
  });
  tbody.addEventListener("click", function (event) {
    var pin = event.target.closest("button.pin");
    if (pin) { var i = Number(pin.getAttribute("data-row")); setBaseline(state.baseline === i ? null : i); }
  });
  var timer = null;
  document.getElementById("runs-filter").addEventListener("input", function (event) {
    clearTimeout(timer);
    var value = event.target.value;
    timer = setTimeout(function () { state.filter = value; recompute(); }, 120);
  });
  document.getElementById("runs-changed").addEventListener("change", function (event) { state.changed = event.target.checked; recompute(); });
  document.getElementById("runs-mainline").addEventListener("change", function (event) { state.mainline = event.target.checked; recompute(); });
  document.getElementById("runs-clear-baseline").addEventListener("click", function () { setBaseline(null); });
  document.getElementById("runs-csv").addEventListener("click", downloadCsv);
  var pending = false;
  wrap.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; renderBody(); });
  });
  window.addEventListener("resize", function () { lastRange = ""; renderBody(); });
  document.addEventListener("keydown", function (event) {
    // "/" focuses the filter, as on GitHub.
    if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
      event.preventDefault();
      document.getElementById("runs-filter").focus();
    }
  });
  recompute();
  document.body.setAttribute("data-runs-ready", "1");
})();
