// The benchmark page: quality vs share of strong calls for each router of the last
// `bench` run (GET /ui/api/benchmarks), with the oracle, the random band and baselines.
// PGR(f) = (q(f) - q_weak) / (q_strong - q_weak); cost(f) = (1 - f) c0 + f c1 per 1k queries.
"use strict";

const BASELINE_STYLE = {
  "oracle": { color: "#000", dash: [8, 4] },
  "random (expected)": { color: "#777", dash: [2, 3] },
  "length": { color: "#8c564b", dash: [6, 3] },
};
const state = { results: [], current: null, chart: null };
const $ = (id) => document.getElementById(id);

function fmt(v, digits = 4) {
  return v === null || v === undefined ? "n/a" : Number(v).toFixed(digits);
}

// The curves in the table's order: routers first, then baselines.
function curveLabels(result) {
  const labels = result.rows.map((r) => r.router).filter((l) => l in result.curves);
  return labels.concat(Object.keys(result.curves).filter((l) => l !== "strong_fraction" && !labels.includes(l)));
}

function costAt(result, f) {
  const c = result.cost_per_1k;
  return c ? (1 - f) * c[0] + f * c[1] : null;
}

function showTooltip(u) {
  const tip = $("bench-tooltip");
  const i = u.cursor.idx;
  const result = state.current;
  if (i === null || i === undefined) {
    tip.hidden = true;
    return;
  }
  const f = result.curves.strong_fraction[i];
  const gap = result.strong_mean - result.weak_mean;
  const rows = [el("tr", {}, el("th", {}, "curve"), el("th", {}, "quality"),
    el("th", {}, "PGR"), el("th", {}, "threshold"))];
  curveLabels(result).forEach((label, k) => {
    if (!u.series[k + 1].show) return;
    const q = result.curves[label][i];
    const t = result.thresholds && result.thresholds[label] ? result.thresholds[label][i] : null;
    rows.push(el("tr", { "data-curve": label },
      el("td", {}, label),
      el("td", { class: "num quality" }, fmt(q)),
      el("td", { class: "num pgr" }, gap ? fmt((q - result.weak_mean) / gap, 3) : "n/a"),
      el("td", { class: "num threshold" }, fmt(t))));
  });
  tip.replaceChildren(
    el("div", { class: "fraction", "data-value": String(f) }, `strong calls ${pct(f)} (the CPT of each PGR below)`),
    el("div", { class: "cost" }, `cost ${dollars(costAt(result, f))} per 1,000 queries`),
    el("table", {}, ...rows));
  tip.hidden = false;
  const left = u.cursor.left + u.over.offsetLeft;
  tip.style.left = (left > u.width / 2 ? left - tip.offsetWidth - 16 : left + 16) + "px";
  tip.style.top = (u.over.offsetTop + 10) + "px";
}

function drawCurves(result) {
  state.current = result;
  const labels = curveLabels(result);
  const series = labels.map((label, k) => ({
    label,
    color: (BASELINE_STYLE[label] || {}).color || COLORS[k % COLORS.length],
    dash: (BASELINE_STYLE[label] || {}).dash,
    width: BASELINE_STYLE[label] ? 1.5 : 2,
  }));
  const data = [result.curves.strong_fraction, ...labels.map((l) => result.curves[l])];
  const band = result.random_band_curve;
  let bands;
  if (band && band.low.length === data[0].length) {
    series.push({ label: "random band 2.5%", color: "#bbb", width: 1 },
      { label: "random band 97.5%", color: "#bbb", width: 1 });
    data.push(band.low, band.high);
    bands = [{ series: [series.length, series.length - 1], fill: "rgba(120,120,120,0.15)" }];
  }
  state.chart = lineChart($("curve"), series, data, {
    xLabel: "share of calls to the strong model", yLabel: "quality", xRange: [0, 1], height: 420,
    bands, hooks: { setCursor: [showTooltip] },
  });
}

function renderSummary(result) {
  const dropped = Object.entries(result.dropped || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  $("summary").textContent = `${result.n_evaluated} of ${result.n_total} prompts (dropped: ${dropped}); ` +
    `strong ${result.strong_model} mean ${fmt(result.strong_mean)}, weak ${result.weak_model} ` +
    `mean ${fmt(result.weak_mean)}; cost at ${fmt(result.input_tokens, 0)} input and ` +
    `${fmt(result.output_tokens, 0)} output tokens per query` +
    (result.cost_per_1k ? "" : " (no price for a model: costs n/a)");
  const columns = Object.keys(result.rows[0] || {});
  $("rows").querySelector("thead").replaceChildren(el("tr", {}, ...columns.map((c) => el("th", {}, c))));
  $("rows").querySelector("tbody").replaceChildren(...result.rows.map((row) => el("tr", { "data-router": row.router },
    ...columns.map((c) => {
      const v = row[c];
      const text = typeof v === "number" ? (c.startsWith("CPT") ? pct(v) : fmt(v)) : v === null ? "n/a" : String(v);
      return el("td", { class: typeof v === "number" ? "num" : "" }, text);
    }))));
  $("notes").replaceChildren(...(result.notes || []).map((n) => el("li", {}, n)));
}

function show(name) {
  const result = state.results.find((r) => r.name === name);
  renderSummary(result);
  drawCurves(result);
}

async function load() {
  const reply = await fetchOrShow("/ui/api/benchmarks");
  if (!reply) return;
  state.results = reply.benchmarks;
  if (!state.results.length) {
    showError("error", new Error(`no benchmark results in ${reply.results_dir}; run ` +
      "routellm-py bench, or start routellm-py ui with --results DIR"));
    return;
  }
  showError("error", null);
  $("source").textContent = `from ${reply.results_dir}`;
  const select = $("benchmark");
  select.replaceChildren(...state.results.map((r) => el("option", { value: r.name }, r.name)));
  show(state.results[0].name);
}

initHeader(load);
$("benchmark").addEventListener("change", () => show($("benchmark").value));
$("curve").addEventListener("mouseleave", () => { $("bench-tooltip").hidden = true; });
load();
