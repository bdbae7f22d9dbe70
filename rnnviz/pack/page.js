// rnnviz lecture pack: replays the recorded frames of one page (data in <script id="rnnviz-data">).
// No network: plotly.min.js sits next to this file and the data is in the page itself.
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("rnnviz-data").textContent);
  const slider = document.getElementById("step-slider");
  const label = document.getElementById("step-label");
  const play = document.getElementById("play");
  const lines = document.getElementById("lines");
  const plotConfig = {responsive: true, displaylogo: false};
  const cache = new Map();

  // IEEE 754 half precision -> number (subnormals, infinities and nan included).
  function half(h) {
    const sign = (h & 0x8000) ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) return sign * frac * Math.pow(2, -24);
    if (exp === 31) return frac ? NaN : sign * Infinity;
    return sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
  }

  // {"dtype": "f2"|"f4"|"f8", "shape": [...], "b64": little-endian bytes} -> array (rows for 2-D).
  function decode(enc) {
    if (cache.has(enc)) return cache.get(enc);
    const text = atob(enc.b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    const n = enc.shape.reduce((a, b) => a * b, 1);
    const flat = new Array(n);
    for (let i = 0; i < n; i++) {
      if (enc.dtype === "f2") flat[i] = half(view.getUint16(2 * i, true));
      else if (enc.dtype === "f4") flat[i] = view.getFloat32(4 * i, true);
      else flat[i] = view.getFloat64(8 * i, true);
    }
    let out = flat;
    if (enc.shape.length === 2) {
      const cols = enc.shape[1];
      out = [];
      for (let r = 0; r < enc.shape[0]; r++) out.push(flat.slice(r * cols, (r + 1) * cols));
    }
    cache.set(enc, out);
    return out;
  }

  function cursor(axis, step) {
    const line = {color: "#222222", width: 2, dash: "dash"};
    if (axis === "x") return {type: "line", xref: "x", yref: "paper", x0: step, x1: step, y0: 0, y1: 1, line: line};
    return {type: "line", xref: "paper", yref: "y", x0: 0, x1: 1, y0: step, y1: step, line: line};
  }

  function figure(panel, stateIndex, step) {
    const base = panel.figure;
    const state = panel.states[stateIndex];
    const data = base.data.map((t) => Object.assign({}, t));
    for (const [i, key, enc] of state.arrays) data[i][key] = decode(enc);
    const layout = Object.assign({}, base.layout);
    layout.title = Object.assign({}, base.layout.title || {}, {text: state.title});
    if (state.annotations) layout.annotations = state.annotations;
    if (panel.cursor) layout.shapes = (base.layout.shapes || []).concat([cursor(panel.cursor, step)]);
    return {data: data, layout: layout};
  }

  function show(index) {
    const frame = page.frames[index];
    slider.value = String(index);
    label.textContent = "training step " + frame.step + " (frame " + (index + 1) + " of " + page.frames.length + ")";
    lines.replaceChildren(...frame.lines.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    for (const panel of page.panels) {
      const div = document.getElementById("panel-" + panel.id);
      const stateIndex = frame.states[panel.id];
      div.hidden = stateIndex === undefined;
      if (stateIndex === undefined) continue;
      const fig = figure(panel, stateIndex, frame.step);
      Plotly.react(div, fig.data, fig.layout, plotConfig);
    }
    document.body.dataset.frame = String(index);
  }

  let timer = null;
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "▶ play";
  }
  play.addEventListener("click", () => {
    if (timer !== null) return stop();
    if (Number(slider.value) >= page.frames.length - 1) show(0);
    play.textContent = "⏸ pause";
    timer = setInterval(() => {
      const next = Number(slider.value) + 1;
      if (next >= page.frames.length) return stop();
      show(next);
    }, 400);
  });
  slider.max = String(page.frames.length - 1);
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
  show(0);
})();
