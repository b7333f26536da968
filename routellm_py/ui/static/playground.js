// The playground: every loaded router's win rate for your prompts (POST /v1/route), the
// decision at a threshold or a target strong fraction, the answer (chat completions, when
// the server has models), and for a batch the distribution of win rates.
"use strict";

const BINS = 20;
const SHOWN_ROWS = 200;
const state = {
  config: null,
  prompts: [],       // strings or messages lists
  fromFile: null,    // file name while the prompts are a loaded file
  rates: {},         // router -> win rates, in prompt order
  thresholds: {},    // router -> threshold in use
  seq: 0,            // drops answers of superseded requests
};

const $ = (id) => document.getElementById(id);

function selectedRouters() {
  return [...document.querySelectorAll("#router-picks input:checked")].map((c) => c.value);
}

function mode() {
  return $("mode-fraction").checked ? "fraction" : "threshold";
}

async function loadConfig() {
  state.config = await fetchOrShow("/ui/api/config");
  if (!state.config) return;
  const picks = $("router-picks");
  picks.textContent = "routers: ";
  const select = $("chat-router");
  select.textContent = "";
  for (const r of state.config.routers) {
    picks.append(el("label", {}, el("input", { type: "checkbox", value: r, checked: true }), " " + r));
    select.append(el("option", { value: r }, r));
  }
  picks.addEventListener("change", () => score());
  $("chat").hidden = !state.config.chat;
}

function currentPrompts() {
  if (state.fromFile) return state.prompts;
  const text = $("prompt").value;
  if (!text.trim()) return [];
  return $("per-line").checked ? text.split("\n").filter((p) => p.trim()) : [text];
}

// Win rates of every selected router, in batches of the server's limit.
async function score() {
  const prompts = currentPrompts();
  const seq = ++state.seq;
  if (!prompts.length) {
    showError("error", new Error("type a prompt or load a file first"));
    return;
  }
  showError("error", null);
  $("status").textContent = `scoring ${prompts.length} prompt(s)…`;
  const size = state.config.max_route_batch;
  const rates = {};
  try {
    await Promise.all(selectedRouters().map(async (router) => {
      rates[router] = [];
      for (let i = 0; i < prompts.length; i += size) {
        const reply = await api("/v1/route",
          { router, threshold: 0.5, prompts: prompts.slice(i, i + size) });
        rates[router].push(...reply.data.map((d) => d.win_rate));
      }
    }));
  } catch (e) {
    showError("error", e);
    $("status").textContent = "";
    return;
  }
  if (seq !== state.seq) return;
  state.prompts = prompts;
  state.rates = rates;
  $("status").textContent = (state.fromFile ? `${prompts.length} prompts from ${state.fromFile}; ` : "") +
    `scored by ${Object.keys(rates).length} router(s)`;
  await decide();
}

// The threshold of each router: the slider's, or the one for the target fraction.
async function decide() {
  const routers = Object.keys(state.rates);
  const seq = state.seq;
  if (!routers.length) return;
  const thresholds = {};
  if (mode() === "threshold") {
    const t = Number($("threshold-value").value);
    for (const r of routers) thresholds[r] = t;
  } else {
    const f = Number($("fraction-value").value);
    try {
      await Promise.all(routers.map(async (router) => {
        thresholds[router] = state.prompts.length === 1
          ? (await api("/v1/route", { router, strong_fraction: f, prompts: state.prompts })).threshold
          : (await api("/ui/api/threshold", { win_rates: state.rates[router], strong_fraction: f })).threshold;
      }));
    } catch (e) {
      showError("error", e);
      return;
    }
    showError("error", null);
  }
  if (seq !== state.seq) return;
  state.thresholds = thresholds;
  render();
}

function render() {
  const single = state.prompts.length === 1;
  $("single").hidden = !single;
  $("batch").hidden = single;
  if (single) renderSingle();
  else renderBatch();
}

function decisionCell(w, t) {
  const strong = w >= t;
  return el("td", { class: "decision " + (strong ? "strong" : "weak") }, strong ? "strong" : "weak");
}

function renderSingle() {
  const body = $("results").querySelector("tbody");
  body.textContent = "";
  for (const [router, rates] of Object.entries(state.rates)) {
    const w = rates[0], t = state.thresholds[router];
    const model = w >= t ? state.config.strong_model : state.config.weak_model;
    body.append(el("tr", { "data-router": router },
      el("td", {}, router),
      el("td", { class: "num win-rate", "data-value": String(w) }, w.toFixed(4)),
      el("td", { class: "num threshold", "data-value": String(t) }, t.toFixed(4)),
      decisionCell(w, t),
      el("td", { class: "model" }, model)));
  }
}

function histogram(rates) {
  const counts = new Array(BINS + 1).fill(0);
  for (const w of rates) counts[Math.min(BINS - 1, Math.floor(w * BINS))]++;
  counts[BINS] = counts[BINS - 1];  // the last step's right edge
  return counts;
}

function renderBatch() {
  const routers = Object.keys(state.rates);
  const summary = $("batch-summary").querySelector("tbody");
  summary.textContent = "";
  for (const r of routers) {
    const rates = state.rates[r], t = state.thresholds[r];
    const strong = rates.filter((w) => w >= t).length;
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    summary.append(el("tr", { "data-router": r },
      el("td", {}, r),
      el("td", { class: "num" }, rates.length),
      el("td", { class: "num threshold", "data-value": String(t) }, t.toFixed(4)),
      el("td", { class: "num strong-fraction", "data-value": String(strong / rates.length) },
        `${pct(strong / rates.length)} (${strong})`),
      el("td", { class: "num" }, mean.toFixed(4))));
  }
  const color = (r) => COLORS[routers.indexOf(r) % COLORS.length];
  const markers = () => routers.map((r) => ({ x: state.thresholds[r], color: color(r) }));
  const edges = Array.from({ length: BINS + 1 }, (_, i) => i / BINS);
  lineChart($("hist"), routers.map((r) => ({ label: r, paths: steps() })),
    [edges, ...routers.map((r) => histogram(state.rates[r]))],
    { xLabel: "win rate", yLabel: "prompts", xRange: [0, 1], markers, width: 540 });
  const grid = Array.from({ length: 201 }, (_, i) => i / 200);
  const share = (rates) => grid.map((t) => rates.filter((w) => w >= t).length / rates.length);
  lineChart($("share"), routers.map((r) => ({ label: r })),
    [grid, ...routers.map((r) => share(state.rates[r]))],
    { xLabel: "threshold", yLabel: "strong fraction", xRange: [0, 1], yRange: [0, 1], markers, width: 540 });
  renderBatchTable(routers);
}

function renderBatchTable(routers) {
  const table = $("batch-table");
  table.querySelector("thead").replaceChildren(el("tr", {}, el("th", {}, "#"), el("th", {}, "prompt"),
    ...routers.map((r) => el("th", { colSpan: 2 }, r))));
  const body = table.querySelector("tbody");
  body.textContent = "";
  const n = Math.min(SHOWN_ROWS, state.prompts.length);
  for (let i = 0; i < n; i++) {
    const text = promptText(state.prompts[i]);
    const cells = routers.flatMap((r) => {
      const w = state.rates[r][i];
      return [el("td", { class: "num" }, w.toFixed(4)), decisionCell(w, state.thresholds[r])];
    });
    body.append(el("tr", {}, el("td", {}, i + 1),
      el("td", { title: text }, text.length > 80 ? text.slice(0, 80) + "…" : text), ...cells));
  }
  $("batch-shown").textContent = n < state.prompts.length ? `(first ${n} of ${state.prompts.length})` : "";
}

async function ask() {
  const router = $("chat-router").value;
  const model = mode() === "threshold"
    ? `router-${router}-${Number($("threshold-value").value)}`
    : `router-${router}-s${Number($("fraction-value").value)}`;
  const p = state.prompts[0];
  const messages = typeof p === "string" ? [{ role: "user", content: p }] : p;
  $("answer").textContent = "asking…";
  try {
    const reply = await api("/v1/chat/completions", { model, messages });
    $("answer").textContent = reply.choices[0].message.content;
    $("routing-record").textContent = JSON.stringify(reply.routing, null, 1);
    $("routing-record").hidden = false;
  } catch (e) {
    $("answer").textContent = "";
    showError("error", e);
  }
}

// Slider and number box move together; touching one selects its mode.
function linkInputs(rangeId, numberId, modeId) {
  const range = $(rangeId), number = $(numberId);
  const changed = (other, value) => {
    $(modeId).checked = true;
    other.value = value;  // never the box being typed in: that would move its caret
    decide();
  };
  range.addEventListener("input", () => changed(number, range.value));
  number.addEventListener("input", () => {
    if (number.value !== "" && number.checkValidity()) changed(range, number.value);
  });
}

function init() {
  initHeader(loadConfig);
  linkInputs("threshold", "threshold-value", "mode-threshold");
  linkInputs("fraction", "fraction-value", "mode-fraction");
  for (const id of ["mode-threshold", "mode-fraction"]) $(id).addEventListener("change", decide);
  $("score").addEventListener("click", score);
  $("ask").addEventListener("click", ask);
  $("prompt").addEventListener("input", () => { state.fromFile = null; });
  $("file").addEventListener("change", async () => {
    const file = $("file").files[0];
    if (!file) return;
    try {
      state.prompts = filePrompts(file.name, await file.text());
    } catch (e) {
      showError("error", e);
      return;
    }
    state.fromFile = file.name;
    await score();
  });
  loadConfig();
}

init();
