// The Prometheus text format (GET /metrics) and quantiles of its histograms.
"use strict";

// [{name, labels: {k: v}, value}] of every sample line.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const pair of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// The q-quantile of histogram `name` over the samples whose labels include `match`
// (buckets summed across the other labels): the bucket holding rank q * count, linear
// inside it (histogram_quantile's rule); null without observations. A rank in the +Inf
// bucket gives the largest finite bound.
function histogramQuantile(samples, name, match, q) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== name + "_bucket") continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) || 0) + s.value);
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = bounds.length ? buckets.get(bounds[bounds.length - 1]) : 0;
  if (!total) return null;
  const rank = q * total;
  let lower = 0, below = 0;
  for (const le of bounds) {
    const count = buckets.get(le);
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * (count > below ? (rank - below) / (count - below) : 0);
    }
    lower = le;
    below = count;
  }
  return lower;
}

function ms(seconds) {
  return seconds === null ? "n/a" : (1000 * seconds).toFixed(seconds < 0.01 ? 2 : 0) + " ms";
}
