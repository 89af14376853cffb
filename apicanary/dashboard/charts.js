// Per-version charts of the traffic each alias serves: hand-written SVG, one line per
// executed version, drawn from the view-model's "series" (no chart library).

import { $, el, num, ms, setAttr, setText, svg, syncChildren } from "./dom.js";

const CHARTS = [
  { key: "rps", label: "Requests/s", floor: 1, format: (v) => num(v, v < 10 ? 2 : 1) },
  { key: "errorRate", label: "Error rate", floor: 0.01, format: (v) => `${num(v * 100, 1)}%` },
  { key: "p50", label: "p50 latency", floor: 1, format: ms },
  { key: "p99", label: "p99 latency", floor: 1, format: ms },
];
const W = 320;
const H = 100;
const PAD = { left: 40, right: 6, top: 6, bottom: 14 };

function niceMax(value, floor) {
  const v = Math.max(value, floor);
  const exponent = 10 ** Math.floor(Math.log10(v));
  const m = v / exponent;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * exponent;
}

function pathOf(values, max) {
  const n = values.length;
  const x = (i) => PAD.left + (n > 1 ? (i / (n - 1)) * (W - PAD.left - PAD.right) : 0);
  const y = (v) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    const next = values[i + 1];
    if (!pen && (next === null || next === undefined)) d += "h0.01"; // a lone point: a dot
    pen = true;
  });
  return d;
}

function createChart(spec) {
  const figure = el("figure", {}, el("figcaption", {}, el("span", {}, spec.label), el("span", { class: "latest" })));
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  const bottom = H - PAD.bottom;
  const middle = (PAD.top + bottom) / 2;
  for (const y of [PAD.top, middle, bottom]) {
    chart.append(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
  }
  const label = (cls, x, y, anchor) => {
    const t = svg("text", { class: `axis ${cls}`, x, y, "text-anchor": anchor });
    chart.append(t);
    return t;
  };
  label("max", PAD.left - 4, PAD.top + 4, "end");
  label("mid", PAD.left - 4, middle + 4, "end");
  label("zero", PAD.left - 4, bottom + 3, "end").textContent = "0";
  label("from", PAD.left, H - 2, "start");
  label("to", W - PAD.right, H - 2, "end").textContent = "now";
  chart.append(svg("g", { class: "lines" }));
  figure.append(chart);
  return figure;
}

function updateChart(figure, spec, lines, minutes) {
  const values = lines.map((line) => line[spec.key]);
  const peak = Math.max(0, ...values.flat().filter((v) => v !== null && v !== undefined));
  const max = niceMax(peak, spec.floor);
  const chart = figure.querySelector("svg");
  setText(chart.querySelector(".max"), spec.format(max));
  setText(chart.querySelector(".mid"), spec.format(max / 2));
  setText(chart.querySelector(".from"), `−${minutes} min`);
  const latest = lines.map((line) => {
    const series = line[spec.key];
    const last = [...series].reverse().find((v) => v !== null && v !== undefined);
    return `v${line.version} ${last === undefined ? "–" : spec.format(last)}`;
  });
  setText(figure.querySelector(".latest"), latest.join(" · "));
  setAttr(chart, "aria-label", `${spec.label} over the last ${minutes} minutes, latest: ${latest.join(", ")}`);
  syncChildren(chart.querySelector(".lines"), lines, (line) => line.version,
    () => svg("path", { class: "line" }),
    (path, line) => {
      setAttr(path, "class", `line role-${line.role || "other"}`);
      setAttr(path, "d", pathOf(line[spec.key], max));
    });
}

export function renderCharts(series, window_) {
  const groups = new Map();
  for (const line of series.lines) {
    const key = `${line.function}:${line.alias}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(line);
  }
  const items = [...groups.entries()].filter(([, lines]) => lines.some((l) => l.requests > 0));
  $("#no-charts").hidden = items.length > 0;
  setText($("#window"), `last ${window_.minutes} min, ${window_.period} s periods`);
  const create = ([key]) => {
    const heading = el("h3", {}, key);
    const group = el("div", { class: "chart-group" }, heading, el("ul", { class: "legend" }), el("div", { class: "charts" }));
    return group;
  };
  const update = (group, [, lines]) => {
    syncChildren(group.querySelector(".legend"), lines, (l) => l.version, () => el("li"), (li, l) => {
      setAttr(li, "class", `role-${l.role || "other"}`);
      setText(li, `version ${l.version}${l.role ? ` (${l.role})` : ""}: ${l.requests} requests, ${l.errors} errors`);
    });
    syncChildren(group.querySelector(".charts"), CHARTS, (spec) => spec.key, createChart,
      (figure, spec) => updateChart(figure, spec, lines, window_.minutes));
  };
  syncChildren($("#charts"), items, ([key]) => key, create, update);
}
