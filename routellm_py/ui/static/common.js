// Shared by the three pages: the API key field, authorised JSON calls, small helpers.
"use strict";

const KEY_STORE = "routellm_py_api_key";

// The bearer key lives in sessionStorage: per tab, gone when the tab closes.
function apiKey() {
  return sessionStorage.getItem(KEY_STORE) || "";
}

// Calls an endpoint of this server; a JSON error body becomes an Error with its message.
async function api(path, body) {
  const headers = {};
  if (apiKey()) headers["Authorization"] = "Bearer " + apiKey();
  const init = { headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = JSON.parse(text).error.message;
    } catch (e) {
      // not an OpenAI-style error body: show the text as it is
    }
    if (response.status === 401) showKeyNeeded();
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    throw error;
  }
  return (response.headers.get("content-type") || "").includes("json") ? JSON.parse(text) : text;
}

// GET `path` as JSON, or null after showing the error in the page's #error box.
async function fetchOrShow(path) {
  try {
    const reply = await api(path);
    showError("error", null);
    return reply;
  } catch (e) {
    showError("error", e);
    return null;
  }
}

function showKeyNeeded() {
  const field = document.getElementById("api-key");
  field.classList.add("needed");
  field.focus();
}

const PAGES = [["/ui/", "Playground"], ["/ui/bench", "Benchmarks"], ["/ui/dashboard", "Dashboard"]];

// The header: navigation and the key field. `onKey` runs when a key is saved.
function initHeader(onKey) {
  const header = document.getElementById("top");
  header.append(el("strong", {}, "routellm-py"));
  for (const [path, title] of PAGES) {
    header.append(el("a", { href: path, class: location.pathname === path ? "current" : "" }, title));
  }
  const field = el("input", { id: "api-key", type: "password", placeholder: "API key (if set)",
    autocomplete: "off", value: apiKey() });
  const form = el("form", { id: "api-key-form" }, field, el("button", { type: "submit" }, "Use key"));
  header.append(form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORE, field.value.trim());
    field.classList.remove("needed");
    onKey();
  });
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function showError(target, error) {
  const box = document.getElementById(target);
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

function pct(x, digits = 1) {
  return x === null || x === undefined || Number.isNaN(x) ? "n/a" : (100 * x).toFixed(digits) + "%";
}

function dollars(x) {
  return x === null || x === undefined || Number.isNaN(x) ? "n/a" : "$" + x.toFixed(x < 1 ? 4 : 2);
}

// A palette that tells up to ten series apart.
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
  "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

// Width of a chart container (uPlot needs pixels).
function chartWidth(container) {
  return Math.max(320, container.clientWidth || 640);
}
