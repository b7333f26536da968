// The live dashboard: polls GET /stats (counters) and GET /metrics (latency histograms)
// and redraws without reloading. The strong fraction is that of chat completions' routing
// decisions: routed to the strong model / all routed, summed over routers (/stats "routed").
"use strict";

const HISTORY = 900;  // points kept for the chart
const state = { config: null, timer: null, history: [], last: null, chart: null, polls: 0 };
const $ = (id) => document.getElementById(id);

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

// {strong, total} of one router's counts (model -> n), or of all routers.
function strongCounts(routed, router) {
  const strongModel = state.config.strong_model;
  const per = router === undefined ? Object.values(routed) : [routed[router] || {}];
  return {
    strong: sum(per.map((counts) => counts[strongModel] || 0)),
    total: sum(per.map((counts) => sum(Object.values(counts)))),
  };
}

function spendOf(model, served) {
  const price = state.config.prices[model];
  if (!price) return null;
  const tokensIn = Number($("input-tokens").value), tokensOut = Number($("output-tokens").value);
  return served * (tokensIn * price[0] + tokensOut * price[1]);
}

function renderTotals(stats) {
  const { strong, total } = strongCounts(stats.routed);
  const box = $("strong-fraction");
  box.textContent = total ? pct(strong / total) : "n/a";
  box.dataset.value = total ? String(strong / total) : "";
  $("strong-count").textContent = `${strong} of ${total} routed to ${state.config.strong_model}`;
  const served = sum(Object.values(stats.served)), failed = sum(Object.values(stats.failed));
  $("requests").textContent = `${served} / ${failed}`;
  $("cancelled").textContent = `${stats.cancelled} cancelled`;
  const models = Object.keys(stats.served);
  const spends = models.map((m) => spendOf(m, stats.served[m]));
  const known = spends.filter((s) => s !== null);
  $("spend").textContent = known.length ? dollars(sum(known)) : "n/a";
  const unpriced = models.filter((m, i) => spends[i] === null);
  $("spend-note").textContent = unpriced.length ? `no price for ${unpriced.join(", ")}` : "";
  renderBudget(stats.budgets);
}

// The budget controllers' state (`/stats` "budgets": model string -> target, threshold,
// realised fraction, window, ...); the card is hidden while no budget model string was used.
function renderBudget(budget) {
  $("budget-card").hidden = !budget || Object.keys(budget).length === 0;
  if ($("budget-card").hidden) return;
  const box = $("budget");
  box.textContent = "";
  const entries = typeof budget === "object" && !Array.isArray(budget) ? Object.entries(budget) : [["", budget]];
  for (const [key, value] of entries) {
    const fields = value && typeof value === "object" ? Object.entries(value) : [["", value]];
    box.append(el("div", { class: "budget-entry", "data-key": key },
      key ? el("strong", {}, key + ": ") : "",
      fields.map(([k, v]) => `${k ? k + " " : ""}${typeof v === "number" ? +v.toFixed(4) : JSON.stringify(v)}`).join(", ")));
  }
}

function latencyCells(samples, name, match) {
  return [0.5, 0.95, 0.99].map((q) =>
    el("td", { class: "num" }, samples ? ms(histogramQuantile(samples, name, match, q)) : "n/a"));
}

function renderModels(stats, samples) {
  const routedTo = {};
  for (const counts of Object.values(stats.routed)) {
    for (const [m, n] of Object.entries(counts)) routedTo[m] = (routedTo[m] || 0) + n;
  }
  const models = [...new Set([state.config.strong_model, state.config.weak_model,
    ...Object.keys(routedTo), ...Object.keys(stats.served), ...Object.keys(stats.failed)])];
  const body = $("models").querySelector("tbody");
  body.textContent = "";
  for (const m of models) {
    const served = stats.served[m] || 0;
    body.append(el("tr", { "data-model": m },
      el("td", {}, m),
      el("td", { class: "num routed" }, routedTo[m] || 0),
      el("td", { class: "num served" }, served),
      el("td", { class: "num failed" }, stats.failed[m] || 0),
      el("td", { class: "num" }, stats.failed_attempts[m] || 0),
      ...latencyCells(samples, "routellm_upstream_seconds", { model: m, outcome: "ok" }),
      el("td", { class: "num" }, dollars(spendOf(m, served)))));
  }
}

function renderRouters(stats, samples) {
  const body = $("routers").querySelector("tbody");
  body.textContent = "";
  for (const r of state.config.routers) {
    const { strong, total } = strongCounts(stats.routed, r);
    const batches = stats.routing_batches[r] || { batches: 0, prompts: 0 };
    body.append(el("tr", { "data-router": r },
      el("td", {}, r),
      el("td", { class: "num" }, strong),
      el("td", { class: "num" }, total - strong),
      el("td", { class: "num strong-fraction", "data-value": total ? String(strong / total) : "" },
        total ? pct(strong / total) : "n/a"),
      ...latencyCells(samples, "routellm_routing_seconds", { router: r }),
      el("td", { class: "num" }, `${batches.batches} / ${batches.prompts}`),
      el("td", { class: "num" }, stats.routing_queue[r] || 0)));
  }
}

function renderServer(stats) {
  const body = $("server").querySelector("tbody");
  body.textContent = "";
  const counters = Object.entries(stats.server || {});
  if (!counters.length) body.append(el("tr", {}, el("td", { class: "note" }, "no rejections or errors")));
  for (const [k, v] of counters) body.append(el("tr", {}, el("td", {}, k), el("td", { class: "num" }, v)));
}

// One point per poll: cumulative fraction per router and overall, and overall since the
// previous poll (null when nothing was routed in between).
function recordHistory(stats) {
  const now = Date.now() / 1000;
  const overall = strongCounts(stats.routed);
  const point = { t: now, overall, routers: {} };
  for (const r of state.config.routers) point.routers[r] = strongCounts(stats.routed, r);
  state.history.push(point);
  if (state.history.length > HISTORY) state.history.shift();
  const h = state.history, t0 = h[0].t;
  const frac = (c) => (c.total ? c.strong / c.total : null);
  const interval = h.map((p, i) => {
    if (i === 0) return null;
    const d = { strong: p.overall.strong - h[i - 1].overall.strong, total: p.overall.total - h[i - 1].overall.total };
    return frac(d);
  });
  const data = [h.map((p) => p.t - t0), h.map((p) => frac(p.overall)), interval,
    ...state.config.routers.map((r) => h.map((p) => frac(p.routers[r])))];
  if (!state.chart) {
    state.chart = lineChart($("fraction-chart"), [
      { label: "all (since start)", width: 2.5, color: "#000" },
      { label: "all (per poll)", color: "#999", dash: [4, 4] },
      ...state.config.routers.map((r) => ({ label: r + " (since start)" }))],
      data, { xLabel: "seconds", yLabel: "strong fraction", yRange: [0, 1], height: 260 });
  } else {
    state.chart.setData(data);
  }
}

async function poll() {
  let stats, samples = null;
  try {
    stats = await api("/stats");
    try {
      samples = parseMetrics(await api("/metrics"));
    } catch (e) {
      if (e.status !== 501) throw e;  // 501: prometheus_client is not installed
    }
  } catch (e) {
    showError("error", e);
    return;
  }
  showError("error", null);
  renderTotals(stats);
  renderModels(stats, samples);
  renderRouters(stats, samples);
  renderServer(stats);
  recordHistory(stats);
  state.polls += 1;
  $("updated").dataset.polls = String(state.polls);
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}` +
    (samples ? "" : " (no /metrics: latency needs prometheus_client)");
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(poll, Number($("interval").value));
}

async function start() {
  state.config = await fetchOrShow("/ui/api/config");
  if (!state.config) return;
  await poll();
  schedule();
}

initHeader(start);
$("interval").addEventListener("change", schedule);
start();
