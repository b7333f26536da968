// Thin helpers over uPlot (vendored, MIT): a line chart, with optional vertical marker lines.
"use strict";

// series: [{label, color, dash, width, fill, show, paths}], data: [x, y1, y2, ...].
// opts.markers(): [{x, color}] drawn as vertical lines; opts.bands: uPlot bands.
function lineChart(container, series, data, opts = {}) {
  container.textContent = "";
  const config = {
    width: opts.width || chartWidth(container),
    height: opts.height || 300,
    scales: { x: { time: false, range: opts.xRange }, y: { range: opts.yRange } },
    axes: [{ label: opts.xLabel || "" }, { label: opts.yLabel || "", size: 60 }],
    legend: { show: opts.legend !== false },
    cursor: { drag: { x: false, y: false } },
    series: [{ label: opts.xLabel || "x" }, ...series.map((s, i) => ({
      label: s.label,
      stroke: s.color || COLORS[i % COLORS.length],
      width: s.width || 1.5,
      dash: s.dash,
      fill: s.fill,
      show: s.show !== false,
      paths: s.paths,
      points: { show: false },
    }))],
    bands: opts.bands,
    hooks: { draw: [(u) => drawMarkers(u, opts.markers ? opts.markers() : [])], ...opts.hooks },
  };
  return new uPlot(config, data, container);
}

function drawMarkers(u, markers) {
  const ctx = u.ctx;
  ctx.save();
  for (const m of markers) {
    if (m.x === null || m.x === undefined || Number.isNaN(m.x)) continue;
    const x = Math.round(u.valToPos(m.x, "x", true));
    ctx.strokeStyle = m.color;
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

// Step-shaped paths for histograms.
function steps() {
  return uPlot.paths.stepped({ align: 1 });
}
