// backprop's explorer: plain JavaScript and SVG, no library, no network.
// The data (nodes, edges, backward steps, chain-rule paths) is the JSON in #bp-data.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("bp-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const NODE_W = 176, GAP_X = 120, GAP_Y = 26, PAD = 30;
  const COLORS = { param: "#dbe9ff", input: "#eeeeee", op: "#ffffff", output: "#e4f5e1" };
  const byId = {};
  D.nodes.forEach(n => { byId[n.id] = n; });
  const groups = {};
  D.nodes.forEach(n => { if (n.group !== null) (groups[n.group] = groups[n.group] || []).push(n.id); });
  const state = {
    k: 0, selected: null, lit: null, zoom: 1,
    collapsed: new Set(D.nodes.length > 8 ? Object.keys(groups) : []),
  };

  // ---------------------------------------------------------------- numbers
  function fmt(v, digits) {
    if (v === null || v === undefined) return "NaN";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e5 || a < 1e-4) return v.toExponential(Math.max(0, (digits || 4) - 1));
    return String(Number(v.toPrecision(digits || 4)));
  }
  const exact = v => (v === null ? "NaN/Inf" : String(v));
  const size = a => a.shape.reduce((x, y) => x * y, 1);
  const shapeText = s => (s.length ? s.join("x") : "scalar");
  function color(v, m) {
    if (v === null || m === 0) return "#ffffff";
    const t = Math.max(-1, Math.min(1, v / m));
    const c = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`;
  }
  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, attrs, parent, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  // a 2-D view of an encoded array: rows, cols, and what a cell stands for
  function grid(a) {
    if (a.pooled) return { rows: a.pooled.rows, cols: a.pooled.cols, pooled: a.pooled };
    const s = a.shape;
    if (s.length === 0) return { rows: 1, cols: 1 };
    const cols = s[s.length - 1];
    return { rows: size(a) / Math.max(cols, 1), cols: cols };
  }
  function cellText(name, a, r, c) {
    const g = grid(a), v = a.data[r * g.cols + c];
    if (g.pooled) {
      const p = g.pooled;
      return `${name}: rows ${r * p.bh}..${(r + 1) * p.bh - 1}, cols ${c * p.bw}..` +
        `${(c + 1) * p.bw - 1}\nblock mean ${exact(v)}`;
    }
    const idx = a.shape.length <= 1 ? (a.shape.length ? `[${c}]` : "") : `[${r}, ${c}]`;
    return `${idx ? indexable(name) : name}${idx} = ${exact(v)}`;
  }

  // a name an index can follow unmistakably: x[0], dL/dx[0], dL/d(a + b)[0], (a + b)[0]
  const indexable = s => (/^[\w.#]+$|^dL\/d[\w.#]+$|^dL\/d\(.*\)$/.test(s) ? s : `(${s})`);
  // an array drawn inside a node: numbers for a few values, a heatmap for more
  function drawArray(parent, a, x, y, w, name, role) {
    const n = size(a), g = grid(a);
    if (numeric(a)) {
      const cw = n === 1 ? Math.min(w, 96) : Math.min(56, w / Math.max(g.cols, 1));
      for (let r = 0; r < g.rows; r++)
        for (let c = 0; c < g.cols; c++) {
          const v = a.data[r * g.cols + c];
          const cell = el("g", { class: "num " + role, "data-v": exact(v) }, parent);
          el("rect", { x: x + c * cw, y: y + r * 16, width: cw, height: 16, fill: "#fff", stroke: "#ccc" }, cell);
          const t = el("text", { x: x + c * cw + cw / 2, y: y + r * 16 + 12, "text-anchor": "middle", "font-size": 10.5 },
            cell, fmt(v, n === 1 ? 5 : g.cols > 3 ? 3 : 4));
          // fewer digits until the number fits its cell (the exact one is on hover)
          for (let d = n === 1 ? 4 : 2; d >= 1 && t.getComputedTextLength() > cw - 3; d--) t.textContent = fmt(v, d);
          el("title", {}, cell, cellText(name, a, r, c));
        }
      return g.rows * 16 + 2;
    }
    const cs = Math.max(2, Math.min(14, Math.floor(w / g.cols), Math.floor(84 / g.rows)));
    const m = Math.max(Math.abs(a.min || 0), Math.abs(a.max || 0));
    const hm = el("g", { class: "heat " + role }, parent);
    for (let r = 0; r < g.rows; r++)
      for (let c = 0; c < g.cols; c++)
        el("rect", { x: x + c * cs, y: y + r * cs, width: cs, height: cs,
                     fill: color(a.data[r * g.cols + c], m) }, hm);
    el("rect", { x: x, y: y, width: g.cols * cs, height: g.rows * cs, fill: "none", stroke: "#999" }, hm);
    hm.addEventListener("mousemove", ev => {
      // the cell the browser hit (cells are drawn row by row), not one computed back from the
      // pointer's whole-pixel position, which can name a neighbour when cells are this small
      const k = Array.prototype.indexOf.call(hm.children, ev.target);
      if (k >= 0 && k < g.rows * g.cols) tip(ev, cellText(name, a, Math.floor(k / g.cols), k % g.cols));
      else tip(null);
    });
    hm.addEventListener("mouseleave", () => tip(null));
    return g.rows * cs + 2;
  }
  // a few numbers are printed; more become a heatmap (the exact numbers on hover)
  function numeric(a) {
    const n = size(a), g = grid(a);
    return !a.pooled && (n === 1 || (n <= 6 && g.rows === 1) || (n <= 9 && g.cols <= 3));
  }
  function arrayHeight(a, w) {
    const g = grid(a);
    if (numeric(a)) return g.rows * 16 + 2;
    const cs = Math.max(2, Math.min(14, Math.floor(w / g.cols), Math.floor(84 / g.rows)));
    return g.rows * cs + 2;
  }

  // ---------------------------------------------------------------- backward replay
  function gradients(k) {  // node id -> {a: encoded, final: bool, n: contributions}
    const out = {};
    for (let i = 0; i < k; i++) {
      const s = D.steps[i];
      out[s.node] = { a: s.upstream, final: true, n: s.received };
      s.sends.forEach(c => { if (!(out[c.to] && out[c.to].final)) out[c.to] = { a: c.total, final: false, n: c.n }; });
    }
    return out;
  }

  // ---------------------------------------------------------------- layout (layered)
  const unitOf = id => {
    const g = byId[id].group;
    return g !== null && state.collapsed.has(g) ? "g:" + g : "n:" + id;
  };
  function layout() {
    const units = {}, order = [];
    D.nodes.forEach(n => {
      const u = unitOf(n.id);
      if (!units[u]) { units[u] = { key: u, ids: [], preds: new Set(), succ: new Set() }; order.push(u); }
      units[u].ids.push(n.id);
    });
    const edges = [], seen = new Set();
    D.edges.forEach(e => {
      const a = unitOf(e.from), b = unitOf(e.to);
      if (a === b || seen.has(a + ">" + b)) return;
      seen.add(a + ">" + b);
      units[a].succ.add(b); units[b].preds.add(a);
      edges.push({ a: a, b: b });
    });
    // layer: the longest path from an input (units are in topological order)
    order.forEach(u => {
      let l = 0;
      units[u].preds.forEach(p => { l = Math.max(l, units[p].layer + 1); });
      units[u].layer = l;
    });
    // an input or parameter sits just left of its first consumer, not in column 0
    order.slice().reverse().forEach(u => {
      const U = units[u];
      if (U.preds.size || !U.succ.size) return;
      U.layer = Math.max(0, Math.min(...[...U.succ].map(v => units[v].layer)) - 1);
    });
    // long edges get a waypoint in every layer they cross, so no edge runs through a node
    const layers = [];
    order.forEach(u => { (layers[units[u].layer] = layers[units[u].layer] || []).push(units[u]); });
    const routes = edges.map(e => {
      const pts = [units[e.a]];
      for (let l = units[e.a].layer + 1; l < units[e.b].layer; l++) {
        const d = { key: "d" + Math.random(), dummy: true, layer: l, preds: new Set(), succ: new Set() };
        layers[l].push(d); pts.push(d);
      }
      pts.push(units[e.b]);
      for (let i = 1; i < pts.length; i++) { pts[i].preds.add(pts[i - 1]); pts[i - 1].succ.add(pts[i]); }
      return { e: e, pts: pts };
    });
    const nb = (u, dir) => [...(dir ? u.preds : u.succ)].map(v => (typeof v === "string" ? units[v] : v));
    layers.forEach(L => L.forEach((u, i) => { u.pos = i; }));
    for (let sweep = 0; sweep < 8; sweep++) {  // barycentre ordering, down and up
      const down = sweep % 2 === 0;
      const seq = down ? layers.slice(1) : layers.slice(0, -1).reverse();
      seq.forEach(L => {
        L.forEach(u => {
          const ns = nb(u, down);
          u.bc = ns.length ? ns.reduce((s, v) => s + v.pos, 0) / ns.length : u.pos;
        });
        L.sort((p, q) => p.bc - q.bc);
        L.forEach((u, i) => { u.pos = i; });
      });
    }
    let height = 0;
    layers.forEach((L, li) => {
      let y = PAD;
      L.forEach(u => {
        u.h = u.dummy ? 8 : unitHeight(u);
        u.x = PAD + li * (NODE_W + GAP_X);
        u.y = y;
        y += u.h + GAP_Y;
      });
      height = Math.max(height, y);
    });
    layers.forEach(L => {  // centre each column
      const last = L[L.length - 1], used = last.y + last.h - PAD;
      const shift = (height - PAD - GAP_Y - used) / 2;
      L.forEach(u => { u.y += Math.max(0, shift); });
    });
    return { units: units, layers: layers, routes: routes,
             width: PAD * 2 + layers.length * (NODE_W + GAP_X) - GAP_X, height: height + PAD };
  }
  function unitHeight(u) {
    if (u.key.startsWith("g:")) return 64 + arrayHeight(exitNode(u).value, NODE_W - 12);
    const n = byId[u.ids[0]], w = NODE_W - 12;
    let hh = 40 + arrayHeight(n.value, w);
    hh += n.grad ? 18 + arrayHeight(n.grad, w) : 18;
    return hh;
  }
  function exitNode(u) {  // the member of a group whose value leaves the group
    const inside = new Set(u.ids);
    for (const e of D.edges) if (inside.has(e.from) && !inside.has(e.to)) return byId[e.from];
    return byId[u.ids[u.ids.length - 1]];
  }

  // ---------------------------------------------------------------- drawing
  let svg, root, L;
  const tipEl = h("div", { id: "tip" }, document.body);
  function tip(ev, text) {
    if (!ev) { tipEl.style.display = "none"; return; }
    tipEl.textContent = text; tipEl.style.display = "block";
    tipEl.style.left = ev.clientX + 14 + "px"; tipEl.style.top = ev.clientY + 12 + "px";
  }
  // an edge label fits in the gap between two columns (it never runs into a node): the
  // value when it is short, else the partial's name; the formula is on hover and on click
  const LABEL_CHARS = Math.floor((GAP_X - 12) / 7);
  function edgeLabel(e) {
    if (!e.carries) return "";
    if (e.local) return fmt(e.local.data[0], 4);
    if (e.local_text && e.local_text.length <= LABEL_CHARS) return e.local_text;
    if (e.name && e.name.length <= LABEL_CHARS) return e.name;
    return "∂ formula";
  }
  // where on its edge's last stretch (x0,y0) -> (x1,y1), a cubic with both control points at
  // x = xm, a label goes: on the curve, at the end where edges fan out less (near the parent
  // when many edges meet at the child), and where it covers no label placed before it
  function labelSpot(seg, w, fanOut, fanIn, placed) {
    const [x0, y0, xm, x1, y1] = seg;
    const at = t => {
      const u = 1 - t;
      return [u * u * u * x0 + 3 * u * u * t * xm + 3 * u * t * t * xm + t * t * t * x1,
              u * u * u * y0 + 3 * u * u * t * y0 + 3 * u * t * t * y1 + t * t * t * y1];
    };
    const order = fanIn > fanOut ? [0.3, 0.45, 0.6, 0.2, 0.75] : [0.6, 0.45, 0.75, 0.3, 0.85];
    const box = ([x, y]) => [x - w / 2, y - 9, x + w / 2, y + 7];
    const free = b => placed.every(q => b[2] <= q[0] || q[2] <= b[0] || b[3] <= q[1] || q[3] <= b[1]);
    for (const t of order) {
      const p = at(t), b = box(p);
      if (free(b)) { placed.push(b); return p; }
    }
    const p = at(order[0]);
    placed.push(box(p));
    return p;
  }
  function draw() {
    tip(null);  // a redraw removes what the pointer was over: no stale number stays shown
    L = layout();
    const grads = gradients(state.k);
    const cur = state.k > 0 ? D.steps[state.k - 1] : null;
    const sending = new Set(cur ? cur.sends.map(c => unitOf(c.to) + ">" + unitOf(cur.node)) : []);
    const lit = state.lit === null ? null : litEdges(state.lit);
    const box = document.getElementById("canvas");
    box.innerHTML = "";
    svg = el("svg", { width: L.width * state.zoom, height: L.height * state.zoom,
                      viewBox: `0 0 ${L.width} ${L.height}`, id: "graph" }, box);
    el("defs", {}, svg).innerHTML =
      '<marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" ' +
      'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker>';
    root = el("g", {}, svg);
    // group frames
    Object.keys(groups).forEach(g => {
      if (state.collapsed.has(g)) return;
      const us = groups[g].map(id => L.units["n:" + id]);
      us.forEach(u => el("rect", { x: u.x - 5, y: u.y - 5, width: NODE_W + 10, height: u.h + 10, rx: 7,
                                   class: "group-frame" }, root));
      const top = us.reduce((p, q) => (q.y < p.y || (q.y === p.y && q.x < p.x) ? q : p));
      const lab = el("text", { x: top.x - 4, y: top.y - 9, class: "group-label", "data-group": g }, root,
        `module ${g} [−] (click to close)`);
      lab.addEventListener("click", () => { state.collapsed.add(g); draw(); });
    });
    // edges
    const placed = [];  // the edge labels' boxes so far: no label is put over another
    L.routes.forEach(r => {
      const a = r.pts[0], b = r.pts[r.pts.length - 1];
      const fromIds = a.ids, toIds = b.ids;
      const es = D.edges.filter(e => fromIds.includes(e.from) && toIds.includes(e.to));
      const e = es[0];
      const key = r.e.a + ">" + r.e.b;
      const isLit = lit && lit.has(key);
      const isSend = sending.has(key);
      const cls = "edge" + (e.carries ? "" : " nograd") + (isLit ? " lit" : "") + (isSend ? " sending" : "");
      const g = el("g", { class: cls, "data-from": e.from, "data-to": e.to }, root);
      let d = `M${a.x + NODE_W},${a.y + a.h / 2}`;
      const pts = r.pts.slice(1, -1).map(p => [p.x + NODE_W / 2, p.y + p.h / 2]);
      let px = a.x + NODE_W, py = a.y + a.h / 2, mid = null;
      pts.concat([[b.x, b.y + b.h / 2]]).forEach(([x, y], i, all) => {
        const last = i === all.length - 1;
        const tx = last ? x : x - NODE_W / 2;
        d += ` C${(px + tx) / 2},${py} ${(px + tx) / 2},${y} ${tx},${y}`;
        if (!last) d += ` L${x + NODE_W / 2},${y}`;
        else mid = [px, py, (px + tx) / 2, tx, y];  // the stretch into the child: a cubic
        px = last ? x : x + NODE_W / 2; py = y;
      });
      el("path", { d: d, "marker-end": "url(#arr)" }, g);
      // the label sits on the edge's last stretch, just left of the child it enters
      const text = es.length > 1 ? `${es.length} edges` : edgeLabel(e);
      if (text) {
        const w = 7 * text.length + 8;
        const [lx, ly] = labelSpot(mid, w, r.pts[0].succ.size, r.pts[r.pts.length - 1].preds.size, placed);
        const lab = el("g", { class: "elabel" }, g);
        el("rect", { x: lx - w / 2, y: ly - 9, width: w, height: 16, rx: 3, class: "lab" }, lab);
        el("text", { x: lx, y: ly + 3, "text-anchor": "middle" }, lab, text);
        el("title", {}, lab, es.map(x => `${x.name} = ${x.formula}` + (x.local_text ? ` = ${x.local_text}` : "")).join("\n"));
        lab.addEventListener("click", ev => { ev.stopPropagation(); showEdges(es); });
      }
    });
    // nodes
    Object.values(L.units).forEach(u => {
      const isGroup = u.key.startsWith("g:");
      const n = isGroup ? exitNode(u) : byId[u.ids[0]];
      const cls = "node" + (cur && u.ids.includes(cur.node) ? " current" : "") +
        (state.selected !== null && u.ids.includes(state.selected) ? " selected" : "");
      const g = el("g", { class: cls, "data-id": isGroup ? "" : n.id, "data-name": isGroup ? u.key : n.name,
                          transform: `translate(${u.x},${u.y})` }, root);
      const onPath = lit && [...lit].some(k => k.split(">").includes(u.key));
      el("rect", { class: "box", width: NODE_W, height: u.h, rx: 5,
                   fill: onPath ? "#fff3b0" : isGroup ? "#eef3ff" : COLORS[n.kind] }, g);
      if (isGroup) {
        const gname = u.key.slice(2);
        el("text", { x: 6, y: 15, "font-weight": 600 }, g, `module ${gname}  [+]`);
        el("text", { x: 6, y: 30, "font-size": 11, fill: "#555" }, g, `${u.ids.length} nodes; click to open`);
        el("text", { x: 6, y: 46, "font-size": 11 }, g, `out: ${short(n.name, 16)}  ${shapeText(n.shape)}`);
        drawArray(g, n.value, 6, 52, NODE_W - 12, n.name, "value");
        g.addEventListener("click", () => { state.collapsed.delete(gname); draw(); });
        return;
      }
      const room = Math.floor((NODE_W - 18 - 6 * shapeText(n.shape).length) / 7);
      const title = el("text", { x: 6, y: 15, "font-weight": 600 }, g, short(n.name, room));
      fitText(title, n.name, NODE_W - 16 - 6.5 * shapeText(n.shape).length);
      el("title", {}, g, `${n.name}  (${n.kind}${n.op !== "leaf" ? ", op " + n.op : ""}, ${shapeText(n.shape)})`);
      el("text", { x: NODE_W - 6, y: 15, "text-anchor": "end", "font-size": 10, fill: "#666" }, g, shapeText(n.shape));
      el("text", { x: 6, y: 31, "font-size": 10.5, fill: "#555" }, g, "value");
      let y = 34 + drawArray(g, n.value, 6, 34, NODE_W - 12, n.name, "value");
      if (n.grad) {
        const gr = grads[n.id];
        const label = !gr ? "grad: (not reached yet)" : gr.final ? "grad " + short(dname(n.name), 22) :
          `grad so far (${gr.n} contribution${gr.n > 1 ? "s" : ""})`;
        const gl = el("text", { x: 6, y: y + 12, "font-size": 10.5, fill: gr ? "#8a1c1c" : "#999", class: "gradlabel" }, g, label);
        if (gr && gr.final) fitText(gl, "grad " + dname(n.name), NODE_W - 12);
        if (gr) drawArray(g, gr.a, 6, y + 16, NODE_W - 12, dname(n.name), gr.final ? "grad final" : "grad partial");
      } else {
        el("text", { x: 6, y: y + 12, "font-size": 10.5, fill: "#999" }, g, "needs no gradient");
      }
      g.addEventListener("click", () => select(n.id));
    });
    document.getElementById("back").disabled = state.k === 0;
    document.getElementById("step").disabled = state.k === D.steps.length;
    status(cur);
  }
  function fitText(t, full, width) {  // shorten with … until it is no wider than width
    for (let k = t.textContent.length; k > 2 && t.getComputedTextLength() > width; k--)
      t.textContent = short(full, k - 1);
  }
  const dname = s => (/^[\w.#\[\]]+$/.test(s) ? "dL/d" + s : `dL/d(${s})`);
  const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  function litEdges(pid) {  // unit-level edges on the chain-rule paths from the output to pid
    const out = new Set();
    (D.params[pid] ? D.params[pid].paths : []).forEach(p => {
      for (let i = 0; i + 1 < p.nodes.length; i++) out.add(unitOf(p.nodes[i + 1]) + ">" + unitOf(p.nodes[i]));
    });
    return out;
  }

  // ---------------------------------------------------------------- side panel
  const side = () => document.getElementById("side");
  function status(cur) {
    const s = document.getElementById("status");
    if (!cur) { s.textContent = `before the backward pass: press Step (or →) to visit the first node. ${D.layout_note}`; return; }
    const n = byId[cur.node];
    const sends = cur.sends.map(c => `${byId[c.to].name} (${arrText(c.contribution)})`).join(", ");
    s.textContent = `step ${state.k} of ${D.steps.length}: at ${n.name}, dL/d${n.name} = ${arrText(cur.upstream)}` +
      (cur.received > 1 ? ` (sum of ${cur.received} contributions)` : "") +
      (sends ? `; sends upstream × local partial to ${sends}` : n.kind === "param" ? "; a parameter: its gradient is final" : "");
  }
  function arrText(a) {  // a number, a vector [..], a matrix [[..], [..]] (its shape kept)
    if (size(a) === 1) return fmt(a.data[0], 6);
    if (a.pooled || size(a) > 6) return `${shapeText(a.shape)} array`;
    const g = grid(a), row = r => "[" + a.data.slice(r * g.cols, (r + 1) * g.cols).map(v => fmt(v, 4)).join(", ") + "]";
    if (a.shape.length <= 1) return row(0);
    return "[" + Array.from({ length: g.rows }, (_, r) => row(r)).join(", ") + "]";
  }
  function table(parent, a, cls) {
    if (a.pooled || size(a) > 64) {
      h("div", { class: "muted" }, parent, `${shapeText(a.shape)}: min ${fmt(a.min)}, max ${fmt(a.max)}` +
        (a.pooled ? ` (heatmap in the graph shows block means; hover it)` : ""));
      return;
    }
    const g = grid(a), t = h("table", { class: "nums " + (cls || "") }, parent);
    for (let r = 0; r < g.rows; r++) {
      const tr = h("tr", {}, t);
      for (let c = 0; c < g.cols; c++) {
        const v = a.data[r * g.cols + c];
        h("td", { "data-v": exact(v), title: exact(v) }, tr, fmt(v, 5));
      }
    }
  }
  function select(id) {
    state.selected = id;
    const n = byId[id];
    if (n.kind === "param") state.lit = D.params[id] ? id : null;
    draw();
    const s = side(); s.innerHTML = "";
    h("h2", {}, s, n.name);
    h("div", { class: "muted" }, s, `${n.kind}${n.op !== "leaf" ? ", op " + n.op : ""}, shape ${shapeText(n.shape)}`);
    h("h3", {}, s, "value"); table(s, n.value, "value");
    if (n.grad) { h("h3", {}, s, `gradient dL/d${n.name} (after the whole backward pass)`); table(s, n.grad, "grad"); }
    const ins = D.edges.filter(e => e.to === id && e.carries);
    if (ins.length) {
      h("h3", {}, s, "local partials of the edges into this node");
      ins.forEach(e => edgeBlock(s, e));
    }
    if (n.kind === "param") showPaths(s, id);
    legend(s);
  }
  function edgeBlock(parent, e) {
    const d = h("div", { class: "formula edge-info" }, parent);
    d.textContent = `${e.name} = ${e.formula}` + (e.local_text ? `\n  = ${e.local_text}` : "") +
      (e.matrix_form ? `\n  matrix form: ${e.matrix_form}` : "");
  }
  function showEdges(es) {
    const s = side(); s.innerHTML = "";
    h("h2", {}, s, "edge: local partial");
    es.forEach(e => edgeBlock(s, e));
    legend(s);
  }
  function showPaths(s, id) {
    const P = D.params[id], n = byId[id];
    if (!P) { h("div", { class: "muted" }, s, "paths not listed for this many parameters; use bp.explain"); return; }
    h("h3", {}, s, `dL/d${n.name}: ${P.n_paths} chain-rule path${P.n_paths === 1 ? "" : "s"} (yellow)`);
    const box = h("div", { id: "paths" }, s);
    if (!P.paths.length && P.n_paths) h("div", { class: "muted" }, box, "too many paths to list; their sum:");
    P.paths.forEach(p => {
      const d = h("div", { class: "path" }, box);
      h("div", {}, d, p.nodes.map(i => byId[i].name).join(" → "));
      const f = p.factors;
      const prod = h("div", { class: "formula" }, d);
      if (f.every(x => x)) prod.textContent = "product = " + f.map(x => fmt(x.data[0], 5)).join(" × ") + " = ";
      else prod.textContent = "product = ";
      const pv = h("span", { class: "product", "data-v": size(p.product) === 1 ? exact(p.product.data[0]) : "" }, prod,
        size(p.product) === 1 ? fmt(p.product.data[0], 6) : "");
      if (size(p.product) > 1) table(d, p.product, "product");
      return pv;
    });
    const sum = h("div", { class: "sum" }, box);
    const one = size(P.total) === 1;
    sum.textContent = (P.paths.length > 1 ? "sum of the paths = " : "gradient = ");
    h("span", { class: "total", "data-v": one ? exact(P.total.data[0]) : "" }, sum, one ? fmt(P.total.data[0], 6) : "");
    if (!one) table(sum, P.total, "total");
    h("div", { class: "muted" }, box, `= dL/d${n.name}, the gradient backward computes` +
      (one ? ` (${fmt(P.grad.data[0], 6)})` : ""));
  }
  function legend(s) {
    const d = h("div", { class: "legend" }, s);
    h("h3", {}, d, "legend");
    d.innerHTML += '<div><span class="sw" style="background:#dbe9ff"></span>parameter (click: its chain-rule paths)</div>' +
      '<div><span class="sw" style="background:#eeeeee"></span>input or constant (data, not a parameter)</div>' +
      '<div><span class="sw" style="background:#ffffff"></span>op result</div>' +
      '<div><span class="sw" style="background:#e4f5e1"></span>output (the loss)</div>' +
      '<div><span class="sw" style="background:#fff3b0"></span>on a chain-rule path of the selected parameter</div>' +
      '<div><span class="sw" style="border:3px solid #e06000"></span>node of the current step; orange edges carry its contributions</div>' +
      '<div><span class="sw" style="background:linear-gradient(90deg,#00f,#fff,#f00)"></span>heatmap: negative, 0, positive (hover for numbers)</div>' +
      '<div>Edge labels: the local partial d child / d parent. Dashed edges carry no gradient.</div>' +
      `<div>${D.layout_note}</div>`;
  }

  // ---------------------------------------------------------------- page
  document.title = D.title;
  const head = h("header", {}, document.body);
  h("h1", {}, head, D.title);
  const btn = (id, text, f) => { const b = h("button", { id: id }, head, text); b.addEventListener("click", f); return b; };
  btn("reset", "|◀ Start", () => { state.k = 0; draw(); });
  btn("back", "◀ Back", () => { if (state.k > 0) { state.k--; draw(); } });
  btn("step", "Step ▶", () => { if (state.k < D.steps.length) { state.k++; draw(); } });
  btn("end", "All ▶|", () => { state.k = D.steps.length; draw(); });
  btn("zoomout", "−", () => { state.zoom /= 1.25; draw(); });
  btn("zoomin", "+", () => { state.zoom *= 1.25; draw(); });
  h("div", { id: "status" }, head);
  const main = h("div", { id: "main" }, document.body);
  h("div", { id: "canvas" }, main);
  const sp = h("div", { id: "side" }, main);
  h("h2", {}, sp, "How to read this");
  h("div", {}, sp, "Each box is a tensor of the graph: its value and, as the backward pass reaches it, " +
    "its gradient dL/dnode. Step ▶ (or the → key) visits one node, multiplies the gradient " +
    "arriving there by each edge's local partial and sends it on. Click a parameter to see " +
    "its chain-rule paths; click an edge label for its formula.");
  legend(sp);
  document.addEventListener("keydown", ev => {
    if (ev.key === "ArrowRight") document.getElementById("step").click();
    else if (ev.key === "ArrowLeft") document.getElementById("back").click();
    else if (ev.key === "Home") document.getElementById("reset").click();
    else if (ev.key === "End") document.getElementById("end").click();
  });
  draw();
  const fit = document.getElementById("canvas").clientWidth / L.width;
  if (fit < 1) { state.zoom = Math.max(0.45, fit); draw(); }
  if (D.highlight !== undefined) select(D.highlight);
  window.bpExplorer = { data: D, state: state, ready: true };
})();
