// Prompts from a file: CSV (a column named prompt, text, question or turns; or the only
// column), JSONL / JSON (strings, or objects with one of those fields or `messages`), or
// plain text (one prompt per line). Throws an Error that says what is wrong and where.
"use strict";

const PROMPT_FIELDS = ["prompt", "text", "question", "turns"];

// RFC 4180: quoted fields may hold commas, newlines and doubled quotes.
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (quoted) throw new Error("CSV: a quoted field is not closed");
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.some((v) => v !== ""));
}

function csvPrompts(text) {
  const rows = parseCsv(text);
  if (rows.length < 2) throw new Error("CSV: need a header row and at least one prompt");
  const header = rows[0].map((h) => h.trim().toLowerCase());
  let col = PROMPT_FIELDS.map((f) => header.indexOf(f)).find((i) => i >= 0);
  if (col === undefined && header.length === 1) col = 0;
  if (col === undefined) {
    throw new Error(`CSV: no prompt column; name one of ${PROMPT_FIELDS.join(", ")} ` +
      `(columns: ${rows[0].join(", ")})`);
  }
  return rows.slice(1).map((r) => r[col] || "").filter((p) => p.trim());
}

function itemPrompt(item, where) {
  if (typeof item === "string") return item;
  if (item && typeof item === "object") {
    if (Array.isArray(item.messages)) return item.messages;
    for (const f of PROMPT_FIELDS) {
      const v = item[f];
      if (typeof v === "string") return v;
      if (Array.isArray(v) && typeof v[0] === "string") return v[0];
    }
  }
  throw new Error(`${where}: expected a string or an object with ` +
    `${PROMPT_FIELDS.join(", ")} or messages`);
}

function jsonPrompts(text) {
  const whole = text.trim();
  if (whole.startsWith("[")) {
    return JSON.parse(whole).map((item, i) => itemPrompt(item, `item ${i + 1}`));
  }
  const out = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let item;
    try {
      item = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1} is not JSON: ${e.message}`);
    }
    out.push(itemPrompt(item, `line ${i + 1}`));
  });
  return out;
}

function filePrompts(name, text) {
  const lower = name.toLowerCase();
  const prompts = lower.endsWith(".csv") ? csvPrompts(text)
    : lower.endsWith(".jsonl") || lower.endsWith(".json") ? jsonPrompts(text)
      : text.split("\n").filter((p) => p.trim());
  if (!prompts.length) throw new Error(`${name}: no prompts found`);
  return prompts;
}

// Text of a prompt for display: a messages list shows its last user turn.
function promptText(p) {
  if (typeof p === "string") return p;
  const users = p.filter((m) => m && m.role === "user");
  const last = users.length ? users[users.length - 1].content : "";
  return typeof last === "string" ? last : JSON.stringify(last);
}
