// The two charts: calls over time (the rows shown) and calls per endpoint (the summary).
import { clock, ms, svg } from "./util.js";

const STEPS_S = [1, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400];
const MAX_BARS = 60;
const MIN_SLOTS = 30;

// Bucket the rows by start time; the bucket size grows with the time they span.
export function buckets(rows, nowMs) {
  if (!rows.length) return { step: 1000, list: [] };
  const oldest = Math.min(...rows.map((r) => r.startedMs));
  const newest = Math.max(nowMs, ...rows.map((r) => r.startedMs));
  const span = Math.max(newest - oldest, 1000);
  const seconds = STEPS_S.find((s) => span / (s * 1000) <= MAX_BARS) || STEPS_S[STEPS_S.length - 1];
  const step = seconds * 1000;
  const first = Math.floor(oldest / step) * step;
  const count = Math.floor(newest / step) - first / step + 1;
  const list = Array.from({ length: Math.min(count, MAX_BARS + 1) }, (_, i) => ({ start: first + i * step, ok: 0, err: 0 }));
  for (const row of rows) {
    const index = Math.min(Math.floor((row.startedMs - first) / step), list.length - 1);
    if (row.status >= 400) list[index].err += 1;
    else list[index].ok += 1;
  }
  return { step: step, list: list };
}

export function renderTimeline(chart, rows, nowMs) {
  const { step, list } = buckets(rows, nowMs);
  const width = Math.max(chart.clientWidth || 600, 200);
  const height = 90;
  const axis = 16;
  chart.setAttribute("viewBox", "0 0 " + width + " " + height);
  if (!list.length) {
    chart.replaceChildren(svg("text", { x: 0, y: 15, class: "muted" }, "no calls yet"));
    return;
  }
  const max = Math.max(1, ...list.map((b) => b.ok + b.err));
  // At least MIN_SLOTS slots, newest at the right: a few buckets stay bars, not blocks.
  const slots = Math.max(list.length, MIN_SLOTS);
  const slot = width / slots;
  const offset = slots - list.length;
  const barW = Math.max(slot - 2, 1);
  const plot = height - axis - 4;
  const nodes = [];
  list.forEach((b, i) => {
    const total = b.ok + b.err;
    const g = svg("g", { class: "bucket", "data-count": total, "data-errors": b.err, "data-start": b.start });
    g.append(svg("title", {}, clock(b.start) + " (" + step / 1000 + " s): " + total + " calls, " + b.err + " errors"));
    const okH = (b.ok / max) * plot;
    const errH = (b.err / max) * plot;
    const x = (offset + i) * slot;
    g.append(svg("rect", { x: x, y: plot - okH - errH + 4, width: barW, height: okH, class: "bar-ok" }));
    if (errH > 0) g.append(svg("rect", { x: x, y: plot - errH + 4, width: barW, height: errH, class: "bar-err" }));
    nodes.push(g);
  });
  const span = clock(list[0].start) + " – " + clock(list[list.length - 1].start + step);
  nodes.push(svg("text", { x: width, y: height - 2, class: "muted", "text-anchor": "end" },
    span + " · at most " + max + " per " + step / 1000 + " s"));
  chart.replaceChildren(...nodes);
}

export function renderEndpoints(chart, endpoints, hosts) {
  const top = endpoints.slice(0, 12);
  const rowH = 22;
  const width = Math.max(chart.clientWidth || 600, 200);
  const narrow = width < 520; // phones: no p50/p95 column, a shorter label
  const labelW = narrow ? Math.round(width * 0.5) : 260;
  const statsW = narrow ? 0 : 150;
  const barW = Math.max(width - labelW - statsW - 40, 20); // room for the count after a bar
  const max = Math.max(1, ...top.map((e) => e.count));
  const manyHosts = hosts.length > 1;
  chart.setAttribute("viewBox", "0 0 " + width + " " + Math.max(rowH, top.length * rowH));
  chart.setAttribute("height", String(Math.max(rowH, top.length * rowH)));
  const nodes = [];
  if (!top.length) nodes.push(svg("text", { x: 0, y: 15, class: "muted" }, "no calls yet"));
  const chars = Math.floor(labelW / 7.5);
  top.forEach((e, i) => {
    const y = i * rowH;
    const okW = ((e.count - e.errors) / max) * barW;
    const errW = (e.errors / max) * barW;
    const name = (manyHosts ? e.host + " " : "") + e.endpoint;
    const g = svg("g", { "data-endpoint": e.endpoint, "data-host": e.host, "data-count": e.count });
    const label = svg("text", { x: 0, y: y + 15, class: "mono" }, name.length > chars ? name.slice(0, chars - 1) + "…" : name);
    label.append(svg("title", {}, name + ": p50 " + ms(e.p50) + ", p95 " + ms(e.p95)));
    g.append(label);
    g.append(svg("rect", { x: labelW, y: y + 4, width: Math.max(okW, 0), height: rowH - 8, class: "bar-ok", rx: 2 }));
    if (errW > 0) g.append(svg("rect", { x: labelW + okW, y: y + 4, width: errW, height: rowH - 8, class: "bar-err", rx: 2 }));
    g.append(svg("text", { x: labelW + okW + errW + 6, y: y + 15 }, e.count));
    if (statsW) {
      g.append(svg("text", { x: width - statsW, y: y + 15, class: "muted" }, "p50 " + ms(e.p50) + " · p95 " + ms(e.p95)));
    }
    nodes.push(g);
  });
  chart.replaceChildren(...nodes);
}
