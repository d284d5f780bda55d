// The runs table: rows from the page's JSON, only the visible ones in the DOM (virtual scrolling).
// Every repository string goes into the page through textContent, never as markup. DVC experiments
// (rows with .x = name, .b = baseline sha) follow their baseline, behind a toggle in its row.
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
    if (row.x !== undefined) parts.push("[" + row.x + "]", "experiment");
    row.v.forEach(function (v) { if (v !== null) parts.push(String(v)); });
    row.hay = parts.join("\u0001").toLowerCase();
  });
  var MAX_SELECTED = 8;
  var parentLabel = data.experiments ? "Δ vs parent (experiments: vs their baseline)" : "Δ vs parent";
  var kids = {}, tops = [];
  rows.forEach(function (row, i) {
    var b = row.b !== undefined ? bySha[row.b] : undefined;
    if (b !== undefined && rows[b].b === undefined) (kids[b] = kids[b] || []).push(i); else tops.push(i);
  });
  var state = { sort: null, dir: 1, filter: "", changed: false, mainline: false, baseline: null, open: {}, sel: [] };
  tops.forEach(function (i) { if (rows[i].open) state.open[i] = true; });
  var view = [], scope = [], shown = [], lastRange = "", refocus = null;

  function date(t) { return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " "); }
  function isNum(v) { return typeof v === "number"; }
  function reference(i) {
    if (state.baseline !== null) return state.baseline === i ? null : rows[state.baseline];
    if (rows[i].b !== undefined && bySha[rows[i].b] !== undefined) return rows[bySha[rows[i].b]];
    var p = rows[i].p;
    return p !== null && bySha[p] !== undefined ? rows[bySha[p]] : null;
  }
  function sortValue(row, key) {
    if (key === "sha") return row.s;
    if (key === "msg") return (row.x !== undefined ? "[" + row.x + "]" : row.m).toLowerCase();
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
  function matches(row, tokens) {
    for (var t = 0; t < tokens.length; t++) if (row.hay.indexOf(tokens[t]) === -1) return false;
    return true;
  }
  function sortRows(list) {
    if (state.sort === null) return list;
    var key = state.sort;
    return list.sort(function (x, y) {
      var c = compare(sortValue(rows[x], key), sortValue(rows[y], key));
      return c !== 0 ? c : x - y;
    });
  }
  // view: the rows drawn, in order; scope: every row of the kept groups (collapsed experiments
  // too), which "changed columns only" and the CSV count.
  function recompute() {
    var tokens = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
    var groups = [];
    tops.forEach(function (i) {
      var row = rows[i];
      if (state.mainline && !row.ml) return;
      var own = matches(row, tokens), list = kids[i] || [];
      var hits = list.filter(function (k) { return matches(rows[k], tokens); });
      if (!own && !hits.length) return;
      groups.push({ top: i, kids: own ? list.slice() : hits, forced: !own && tokens.length > 0 });
    });
    var order = sortRows(groups.map(function (g) { return g.top; }));
    var byTop = {};
    groups.forEach(function (g) { byTop[g.top] = g; });
    view = []; scope = [];
    var experiments = 0;
    order.forEach(function (i) {
      var g = byTop[i], list = sortRows(g.kids);
      view.push(i); scope.push(i);
      experiments += list.length;
      list.forEach(function (k) { scope.push(k); if (state.open[i] || g.forced) view.push(k); });
    });
    shown = [];
    for (var c = 0; c < cols.length; c++) {
      if (!state.changed) { shown.push(c); continue; }
      var first, seen = false, varies = false;
      for (var j = 0; j < scope.length && !varies; j++) {
        var v = rows[scope[j]].v[c];
        if (!seen) { first = v; seen = true; } else if (v !== first) varies = true;
      }
      if (varies) shown.push(c);
    }
    document.getElementById("runs-count").textContent =
      (scope.length - experiments) + " of " + tops.length + " commits" +
      (rows.length > tops.length ? " · " + experiments + " of " + (rows.length - tops.length) + " experiments" : "") +
      (state.changed ? " · " + shown.length + " of " + cols.length + " columns" : "");
    renderHead();
    lastRange = "";
    renderBody();
    document.dispatchEvent(new CustomEvent("mlpages:runs-view"));
  }
  // The rows the table shows, collapsed experiments included (the explore panel plots them).
  window.mlpages.runsScope = function () { return scope.slice(); };
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
  function renderRow(i, k) {
    var row = rows[i], ref = reference(i), tr = document.createElement("tr");
    var isExp = row.x !== undefined && kids[bySha[row.b]] !== undefined;
    tr.className = (state.baseline === i ? "baseline" : "") + (isExp ? " exp" : "") + (row.nx ? " has-exps" : "");
    tr.setAttribute("data-row", String(i));
    var pinCell = td(null, "sticky-col"), pin = document.createElement("button");
    pin.type = "button"; pin.className = "pin"; pin.textContent = "◎";
    pin.title = "Use as the baseline for Δ"; pin.setAttribute("data-row", String(i));
    var pick = document.createElement("input");
    pick.type = "checkbox"; pick.className = "pick"; pick.setAttribute("data-row", String(i));
    pick.checked = state.sel.indexOf(i) !== -1;
    pick.disabled = !pick.checked && state.sel.length >= MAX_SELECTED;
    pick.setAttribute("aria-label", "Select " + (row.x !== undefined ? "[" + row.x + "]" : row.s.slice(0, 8)) + " to compare");
    pinCell.appendChild(pick); pinCell.appendChild(pin); tr.appendChild(pinCell);
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
    if (isExp) {
      var siblings = kids[bySha[row.b]], last = k === view.length - 1 || rows[view[k + 1]].b !== row.b;
      var glyph = document.createElement("span");
      glyph.className = "tree"; glyph.textContent = last ? "└─" : "├─"; glyph.setAttribute("aria-hidden", "true");
      msg.appendChild(glyph);
      var name = document.createElement("span");
      name.className = "exp-name"; name.textContent = "[" + row.x + "]";
      msg.appendChild(name);
      if (row.ck) { var ck = document.createElement("span"); ck.className = "muted small"; ck.textContent = " " + row.ck + " checkpoints"; msg.appendChild(ck); }
      msg.title = "experiment " + row.x + " on " + row.b.slice(0, 8) + " (" + siblings.length + " on this baseline)";
    } else {
      if (row.nx) {
        var toggle = document.createElement("button"), open = !!state.open[i];
        toggle.type = "button"; toggle.className = "exp-toggle"; toggle.setAttribute("data-toggle", String(i));
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        toggle.setAttribute("aria-label", (open ? "Hide " : "Show ") + row.nx + " experiments of " + row.s.slice(0, 8));
        toggle.textContent = (open ? "▾ " : "▸ ") + row.nx;
        msg.appendChild(toggle);
      }
      row.r.forEach(function (r) { var b = document.createElement("span"); b.className = "badge ref-" + r[1]; b.textContent = r[0]; msg.appendChild(b); });
      msg.appendChild(document.createTextNode(row.m)); msg.title = row.m;
    }
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
    // Scrolled far down, then filtered to a few rows: draw the last rows, not an empty range.
    top = Math.min(top, Math.max(0, view.length - count));
    var end = Math.min(view.length, top + count);
    var range = top + ":" + end;
    if (range === lastRange) return;
    lastRange = range;
    var fragment = document.createDocumentFragment();
    fragment.appendChild(spacer(top * ROW));
    for (var k = top; k < end; k++) fragment.appendChild(renderRow(view[k], k));
    fragment.appendChild(spacer((view.length - end) * ROW));
    tbody.textContent = "";
    tbody.appendChild(fragment);
    if (refocus !== null) {
      var again = tbody.querySelector('[data-toggle="' + refocus + '"]');
      refocus = null;
      if (again) again.focus();
    }
  }
  function csvCell(value) {
    var s = value === null || value === undefined ? "" : String(value);
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s; // no spreadsheet formulas
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function downloadCsv() {
    var header = ["commit", "experiment", "baseline", "message", "author", "date", "refs"].concat(shown.map(function (c) { return cols[c].f + ":" + cols[c].k; }));
    var lines = [header.map(csvCell).join(",")];
    scope.forEach(function (i) {
      var row = rows[i], exp = row.x !== undefined;
      var cells = [row.s, exp ? row.x : "", exp ? row.b : "", row.m, row.a, date(row.t), row.r.map(function (r) { return r[0]; }).join(" ")];
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
    label.textContent = i === null ? parentLabel : "Δ vs baseline " + rows[i].s.slice(0, 8);
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
  function compareLink() {
    var link = document.getElementById("runs-compare");
    document.getElementById("runs-selected").textContent = String(state.sel.length);
    var ready = state.sel.length >= 2;
    link.setAttribute("aria-disabled", ready ? "false" : "true");
    link.href = "compare.html" + (state.sel.length ? "#sel=" + state.sel.map(function (i) { return rows[i].s.slice(0, 12); }).join(",") : "");
  }
  tbody.addEventListener("click", function (event) {
    var pin = event.target.closest("button.pin");
    if (pin) { var i = Number(pin.getAttribute("data-row")); setBaseline(state.baseline === i ? null : i); return; }
    var toggle = event.target.closest("button.exp-toggle");
    if (toggle) {
      var t = Number(toggle.getAttribute("data-toggle"));
      state.open[t] = !state.open[t];
      refocus = t;
      recompute(); expandLabel();
    }
  });
  tbody.addEventListener("change", function (event) {
    var box = event.target.closest("input.pick");
    if (!box) return;
    var i = Number(box.getAttribute("data-row")), at = state.sel.indexOf(i);
    if (box.checked && at === -1 && state.sel.length < MAX_SELECTED) state.sel.push(i);
    if (!box.checked && at !== -1) state.sel.splice(at, 1);
    compareLink();
    lastRange = ""; renderBody();
  });
  document.getElementById("runs-compare").addEventListener("click", function (event) {
    if (state.sel.length < 2) event.preventDefault();
  });
  var expandAll = document.getElementById("runs-expand-all");
  function allOpen() { return tops.every(function (i) { return !rows[i].nx || state.open[i]; }); }
  function expandLabel() { if (expandAll) expandAll.textContent = allOpen() ? "Collapse all experiments" : "Expand all experiments"; }
  if (expandAll) expandAll.addEventListener("click", function () {
    var open = !allOpen();
    tops.forEach(function (i) { if (rows[i].nx) state.open[i] = open; });
    recompute(); expandLabel();
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
  document.getElementById("runs-baseline").textContent = parentLabel;
  recompute();
  compareLink(); expandLabel();
  document.body.setAttribute("data-runs-ready", "1");
})();
