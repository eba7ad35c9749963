// The dashboard's HTML page (served at "/"): self-contained HTML, CSS and JS
// with no external resources, since a coordinator often runs where nothing
// outside can be reached. It polls api/dashboard and redraws; curves are
// inline SVG polylines, each carrying data-points="N" so tests can check
// them without parsing coordinates.
#ifndef PETREL_COORDINATOR_DASHBOARD_PAGE_H_
#define PETREL_COORDINATOR_DASHBOARD_PAGE_H_

namespace petrel::coordinator {

inline constexpr char kDashboardHtml[] = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Petrel dashboard</title>
<style>
  :root { --ink: #1d2430; --muted: #6b7585; --line: #dde2ea; --bg: #f5f7fa;
          --run: #1f6feb; --ok: #1a7f37; --bad: #cf222e; --warn: #bc4c00; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
         color: var(--ink); background: var(--bg); }
  header { background: #16202e; color: #fff; padding: 12px 24px; display: flex;
           align-items: baseline; gap: 24px; }
  header h1 { margin: 0; font-size: 20px; }
  header .meta { color: #aab4c3; font-size: 13px; }
  header .meta.down { color: #ff8b8b; font-weight: 600; }
  main { padding: 16px 24px 40px; max-width: 1400px; }
  .tiles { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 8px; }
  .tile { background: #fff; border: 1px solid var(--line); border-radius: 6px;
          padding: 8px 16px; min-width: 140px; }
  .tile b { display: block; font-size: 22px; }
  .tile span { color: var(--muted); font-size: 12px; text-transform: uppercase; }
  h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 2px solid var(--line);
       padding-bottom: 4px; }
  table { border-collapse: collapse; background: #fff; width: 100%;
          border: 1px solid var(--line); }
  th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line);
           white-space: nowrap; }
  th { background: #eef1f5; font-weight: 600; font-size: 12px; color: #3d4757; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.error { white-space: normal; color: var(--bad); max-width: 420px; }
  .empty { color: var(--muted); font-style: italic; }
  .state { font-weight: 700; padding: 1px 8px; border-radius: 10px; color: #fff;
           font-size: 12px; }
  .RUNNING { background: var(--run); } .SUCCEEDED { background: var(--ok); }
  .FAILED { background: var(--bad); } .CANCELLED { background: var(--warn); }
  .QUEUED { background: var(--muted); }
  .alive { color: var(--ok); font-weight: 600; } .dead { color: var(--bad); font-weight: 700; }
  .curves { display: flex; flex-wrap: wrap; gap: 12px; }
  .job-curves { background: #fff; border: 1px solid var(--line); border-radius: 6px;
                padding: 8px 12px; }
  .job-curves h3 { margin: 0 0 4px; font-size: 14px; }
  .job-curves .pair { display: flex; gap: 12px; }
  figure { margin: 0; } figcaption { font-size: 12px; color: var(--muted); }
  svg.chart { width: 380px; height: 170px; }
  svg.chart .axis { stroke: #9aa4b2; stroke-width: 1; }
  svg.chart .grid { stroke: #eef1f5; stroke-width: 1; }
  svg.chart text { font-size: 10px; fill: var(--muted); }
  polyline { fill: none; stroke-width: 2; stroke-linejoin: round; }
  polyline.curve-loss { stroke: var(--warn); } polyline.curve-accuracy { stroke: var(--ok); }
  a { color: var(--run); }
</style>
</head>
<body>
<header><h1>Petrel</h1><div>cluster dashboard</div>
  <div class="meta" id="updated">loading&hellip;</div></header>
<main>
  <div class="tiles" id="tiles"></div>
  <h2>Jobs</h2><div id="jobs"></div>
  <h2>Curves <small class="empty">train loss and test accuracy vs seconds since the job started</small></h2>
  <div class="curves" id="curves"></div>
  <h2>Servers</h2><div id="servers"></div>
  <h2>Workers</h2><div id="workers"></div>
  <h2>Shards <small class="empty">where each table's ranges live, and their replicas</small></h2><div id="shard-list"></div>
</main>
<script>
"use strict";
const REFRESH_MS = 1500;
const MAX_CURVE_JOBS = 6;

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g,
    c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
}
function num(value, digits) {
  return value === null || value === undefined ? "&ndash;" : Number(value).toFixed(digits);
}
function state(s) { return `<span class="state ${esc(s)}">${esc(s)}</span>`; }
function alive(a) { return a ? '<span class="alive">yes</span>' : '<span class="dead">NO</span>'; }

// columns: [heading, cell(row) -> html, class ("num", "error")]; `attrs` go
// on the <table>.
function table(rows, columns, attrs, emptyText) {
  if (!rows.length) return `<p class="empty">${emptyText}</p>`;
  const cls = c => c ? ` class="${c}"` : "";
  const head = columns.map(([h, , c]) => `<th${cls(c === "num" && c)}>${h}</th>`).join("");
  const body = rows.map(r => "<tr>" + columns.map(([, cell, c]) =>
    `<td${cls(c)}>${cell(r)}</td>`).join("") + "</tr>").join("");
  return `<table ${attrs || ""}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// An SVG line chart of [[seconds, value], ...]; the polyline carries the
// point count so a glance (or a test) can tell an empty curve from a live one.
// Both charts of a job share the x axis: 0 to `seconds`, the job's age.
function chart(points, kind, jobId, seconds, fixedRange) {
  const W = 380, H = 170, L = 44, R = 10, T = 10, B = 24;
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const xMax = Math.max(1, seconds, ...xs);
  let yMin = fixedRange ? fixedRange[0] : 0, yMax = fixedRange ? fixedRange[1] : 1;
  if (points.length && !fixedRange) yMax = Math.max(...ys) * 1.05 || 1;
  if (points.length && fixedRange) {
    // Accuracy: zoom to the tenths it spans, so progress stays visible.
    yMin = Math.max(0, Math.floor(Math.min(...ys) * 10 - 0.5) / 10);
    yMax = Math.min(1, Math.ceil(Math.max(...ys) * 10 + 0.5) / 10);
  }
  const x = s => L + (W - L - R) * s / xMax;
  const y = v => T + (H - T - B) * (1 - (v - yMin) / ((yMax - yMin) || 1));
  const coords = points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  const last = points.length ? points[points.length - 1] : null;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${kind} of ${esc(jobId)}">
    <line class="grid" x1="${L}" x2="${W - R}" y1="${y((yMin + yMax) / 2)}" y2="${y((yMin + yMax) / 2)}"/>
    <line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>
    <line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>
    <text x="${L - 4}" y="${T + 8}" text-anchor="end">${yMax.toFixed(2)}</text>
    <text x="${L - 4}" y="${H - B}" text-anchor="end">${yMin.toFixed(2)}</text>
    <text x="${L}" y="${H - 8}">0 s</text>
    <text x="${W - R}" y="${H - 8}" text-anchor="end">${xMax.toFixed(1)} s</text>
    <polyline class="curve-${kind}" id="${kind}-${esc(jobId)}" data-points="${points.length}"
              points="${coords}"/>
    ${last ? `<circle cx="${x(last[0])}" cy="${y(last[1])}" r="3" fill="currentColor"/>
       <text x="${W - R}" y="${T + 8}" text-anchor="end">last ${Number(last[1]).toFixed(3)}</text>`
           : `<text x="${(L + W) / 2}" y="${H / 2}" text-anchor="middle">no data yet</text>`}
  </svg>`;
}

function render(d) {
  const running = d.jobs.filter(j => j.state === "RUNNING").length;
  const up = nodes => `${nodes.filter(n => n.alive).length}/${nodes.length}`;
  document.getElementById("tiles").innerHTML = [
    ["servers alive", up(d.servers)], ["workers alive", up(d.workers)],
    ["jobs running", running], ["jobs", d.jobs.length], ["shards", d.shards.length],
  ].map(([label, value]) => `<div class="tile"><b>${value}</b><span>${label}</span></div>`).join("");

  const jobs = d.jobs.slice().reverse();  // newest first
  document.getElementById("jobs").innerHTML = table(jobs, [
    ["Job", j => `<a href="api/job?id=${encodeURIComponent(j.job_id)}">${esc(j.job_id)}</a>`],
    ["Name", j => esc(j.name)], ["Model", j => esc(j.model)], ["State", j => state(j.state)],
    ["Epoch", j => j.state === "QUEUED" ? `&ndash;/${j.epochs}`
                 : `${j.state === "SUCCEEDED" ? j.epochs : j.epoch + 1}/${j.epochs}`, "num"],
    ["Train loss", j => num(j.train_loss, 4), "num"],
    ["Samples/s", j => num(j.samples_per_second, 0), "num"],
    ["Test accuracy", j => num(j.test_accuracy, 4), "num"],
    ["Workers done", j => `${j.workers_finished}/${j.num_workers}`, "num"],
    ["Min clock", j => j.min_clock >= 0 ? j.min_clock : "&ndash;", "num"], ["Max staleness", j => j.max_observed_staleness, "num"],
    ["Seconds", j => num(j.seconds, 1), "num"], ["Error", j => esc(j.error), "error"],
  ], 'id="job-table"', "no jobs submitted yet");

  // Queued jobs have nothing to draw yet.
  const placed = jobs.filter(j => j.state !== "QUEUED");
  document.getElementById("curves").innerHTML = placed.slice(0, MAX_CURVE_JOBS).map(j => `
    <div class="job-curves" data-job="${esc(j.job_id)}">
      <h3>${esc(j.job_id)} &middot; ${esc(j.name)} ${state(j.state)}</h3>
      <div class="pair">
        <figure><figcaption>train loss</figcaption>${chart(j.loss_history, "loss", j.job_id, j.seconds)}</figure>
        <figure><figcaption>test accuracy</figcaption>${chart(j.accuracy_history, "accuracy", j.job_id, j.seconds, [0, 1])}</figure>
      </div></div>`).join("") || '<p class="empty">no job has started yet</p>';

  document.getElementById("servers").innerHTML = table(d.servers, [
    ["Server", n => esc(n.id)], ["Host", n => esc(n.host)], ["gRPC", n => esc(n.grpc_address)],
    ["Status", n => `<a href="${esc(n.status_url)}">/status</a>`],
    ["Shards held", n => n.shards, "num"], ["Dense values", n => n.dense_values.toLocaleString(), "num"],
    ["Heartbeat (s ago)", n => num(n.seconds_since_heartbeat, 1), "num"], ["Alive", n => alive(n.alive)],
  ], 'id="server-table"', "no servers registered");

  document.getElementById("workers").innerHTML = table(d.workers, [
    ["Worker", n => esc(n.id)], ["Host", n => esc(n.host)], ["Device", n => esc(n.device)],
    ["Job", n => esc(n.job_id ?? "")],
    ["Epoch", n => n.progress ? n.progress.epoch + 1 : "&ndash;", "num"],
    ["Step", n => n.progress ? n.progress.step : "&ndash;", "num"],
    ["Clock", n => n.progress ? n.progress.clock : "&ndash;", "num"],
    ["Samples/s", n => n.progress ? num(n.progress.samples_per_second, 0) : "&ndash;", "num"],
    ["Train loss", n => n.progress ? num(n.progress.train_loss, 4) : "&ndash;", "num"],
    ["Heartbeat (s ago)", n => num(n.seconds_since_heartbeat, 1), "num"], ["Alive", n => alive(n.alive)],
  ], 'id="worker-table"', "no workers registered");

  document.getElementById("shard-list").innerHTML = table(d.shards.slice().reverse(), [
    ["Job", s => esc(s.job_id)], ["Table", s => esc(s.table)], ["Kind", s => esc(s.kind)],
    ["Range", s => s.kind === "dense" ? `[${s.begin}, ${s.end})` : `keys of shard ${s.index} of ${s.count}`],
    ["Values", s => s.kind === "dense" ? s.size.toLocaleString() : "&ndash;", "num"],
    ["Server", s => esc(s.server)], ["Address", s => esc(s.server_address)],
    ["Group", s => s.group, "num"], ["Replicas (primary first)", s => esc(s.replicas)],
    ["Map epoch", s => s.shard_map_epoch, "num"],
  ], 'id="shards"', "no job has been placed yet");
}

async function refresh() {
  const updated = document.getElementById("updated");
  try {
    const response = await fetch("api/dashboard", {cache: "no-store"});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    updated.className = "meta";
    updated.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    updated.className = "meta down";
    updated.textContent = "coordinator unreachable (" + e.message + "); retrying";
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
</script>
</body>
</html>
)html";

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_DASHBOARD_PAGE_H_
