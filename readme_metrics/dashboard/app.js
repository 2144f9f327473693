// readme-metrics local dashboard: polls the collector's JSON API and renders it.
// The list (filters, sorting), the summary, the clear button and the wiring live here;
// charts.js draws, detail.js shows one call, curl.js turns it into a command.
import { $, bytes, clock, el, getJSON, ms } from "./util.js";
import { renderEndpoints, renderTimeline } from "./charts.js";
import { closeDetail, copyCurl, openDetail } from "./detail.js";

const POLL_MS = 1000;
const SUMMARY_MS = 2000;
const MAX_ROWS = 5000; // the collector keeps a bounded window; so does the page
const TEXT_KEYS = new Set(["host", "method", "path", "caller"]);

const state = {
  rows: [], last: 0, generation: null, keep: MAX_ROWS, selected: null, hosts: [],
  filters: { path: "", method: "", status: "", host: "", caller: "" },
  sort: { key: "seq", dir: "desc" },
};

function setLive(ok) {
  const live = $("live");
  live.className = "live " + (ok ? "on" : "off");
  live.textContent = ok ? "live" : "collector unreachable, retrying…";
}

// -- the list --------------------------------------------------------------------

function matches(row) {
  const f = state.filters;
  if (f.path && !(row.path + (row.query ? "?" + row.query : "")).toLowerCase().includes(f.path)) return false;
  if (f.method && row.method !== f.method) return false;
  if (f.host && row.host !== f.host) return false;
  if (f.status === "err" && row.status < 400) return false;
  if (f.status && f.status !== "err" && String(row.status)[0] !== f.status) return false;
  if (f.caller && !(row.caller + " " + row.email).toLowerCase().includes(f.caller)) return false;
  return true;
}

function compare(a, b) {
  const { key, dir } = state.sort;
  let order;
  if (TEXT_KEYS.has(key)) order = String(a[key]).localeCompare(String(b[key]));
  else order = a[key] - b[key];
  if (order === 0) order = a.seq - b.seq;
  return dir === "asc" ? order : -order;
}

function rowElement(row, fresh) {
  const tr = el("tr", {
    "data-id": row.id, "data-seq": row.seq, "data-duration": row.duration,
    "data-size": row.size, "data-status": row.status, tabindex: "0",
  });
  if (fresh) tr.classList.add("fresh");
  if (row.id === state.selected) tr.classList.add("selected");
  const status = el("td");
  status.append(el("span", { class: "badge s" + String(row.status)[0], title: row.statusText }, row.status));
  const caller = el("td", { class: "wide", title: row.clientIPAddress ? "from " + row.clientIPAddress : "" }, row.caller || "-");
  if (row.email) caller.append(el("span", { class: "caller-email" }, row.email));
  tr.append(
    el("td", { class: "mono", title: row.started }, clock(row.startedMs)),
    el("td", { class: "host wide" }, row.host),
    el("td", { class: "method" }, row.method),
    el("td", { class: "path", title: row.url }, row.path + (row.query ? "?" + row.query : "")),
    status,
    el("td", { class: "num size wide", title: row.size + " bytes" }, bytes(row.size)),
    el("td", { class: "num" }, ms(row.duration)),
    caller,
  );
  return tr;
}

function fillSelect(select, values, all) {
  const chosen = select.value;
  const options = [el("option", { value: "" }, all)].concat(values.map((v) => el("option", { value: v }, v)));
  select.replaceChildren(...options);
  select.value = values.includes(chosen) ? chosen : "";
}

function renderChoices() {
  const methods = [...new Set(state.rows.map((r) => r.method))].sort();
  const hosts = [...new Set(state.rows.map((r) => r.host))].sort();
  fillSelect($("filter-method"), methods, "all");
  fillSelect($("filter-host"), hosts, "all hosts");
}

function renderList(freshSeq) {
  const tbody = document.querySelector("#logs tbody");
  const shown = state.rows.filter(matches).sort(compare);
  tbody.replaceChildren(...shown.map((row) => rowElement(row, row.seq > freshSeq)));
  $("empty").hidden = state.rows.length > 0;
  $("shown").textContent = shown.length === state.rows.length
    ? state.rows.length + (state.rows.length === 1 ? " call" : " calls")
    : shown.length + " of " + state.rows.length + " calls";
  for (const th of document.querySelectorAll("#logs th[data-sort]")) {
    const active = th.dataset.sort === state.sort.key;
    th.setAttribute("aria-sort", active ? (state.sort.dir === "asc" ? "ascending" : "descending") : "none");
  }
  renderTimeline($("timeline"), shown, Date.now());
}

function startOver() {
  state.rows = [];
  renderChoices();
  renderList(Infinity);
}

async function poll() {
  try {
    const data = await getJSON("/api/logs?limit=" + MAX_ROWS + "&after=" + state.last);
    setLive(true);
    if (state.generation !== null && data.generation !== state.generation) startOver(); // cleared
    state.generation = data.generation;
    if (data.logs.length) {
      const before = state.last;
      // Newest first from the server; the page keeps the newest state.keep.
      state.rows = data.logs.concat(state.rows).slice(0, state.keep);
      state.last = data.last;
      renderChoices();
      renderList(before === 0 ? Infinity : before);
      refreshSummary();
    } else if (data.last < state.last) {
      state.last = 0; // the collector restarted: start over
      startOver();
    }
  } catch (err) {
    setLive(false);
  }
  setTimeout(poll, POLL_MS);
}

// -- the summary -------------------------------------------------------------------

let summaryTimer = null;
async function refreshSummary() {
  clearTimeout(summaryTimer);
  try {
    const s = await getJSON("/api/summary");
    state.keep = Math.min(s.keep, MAX_ROWS); // the collector forgets older calls anyway
    $("sum-calls").textContent = s.accepted;
    $("sum-errors").textContent = (s.errorRate * 100).toFixed(1) + "%";
    $("sum-p50").textContent = ms(s.p50);
    $("sum-p95").textContent = ms(s.p95);
    $("sum-refused").textContent = s.rejected;
    $("sum-refused").parentElement.classList.toggle("alert", s.rejected > 0);
    $("counts").textContent = s.kept < s.accepted ? "summary of the last " + s.kept + " calls" : "";
    renderEndpoints($("chart"), s.endpoints, s.hosts);
  } catch (err) {
    setLive(false);
  }
  summaryTimer = setTimeout(refreshSummary, SUMMARY_MS);
}

async function clearAll() {
  try {
    const answer = await getJSON("/api/logs", { method: "DELETE" });
    state.generation = answer.generation;
    closeDetail(true, select);
    startOver();
    refreshSummary();
  } catch (err) {
    setLive(false);
  }
}

// -- wiring -----------------------------------------------------------------------

function select(id) {
  state.selected = id;
  for (const tr of document.querySelectorAll("#logs tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.id === id);
  }
}

function idFromLocation() {
  const m = location.pathname.match(/^\/logs\/([^/]+)$/);
  return m ? decodeURIComponent(m[1]) : null;
}

function sortBy(key) {
  const numeric = !TEXT_KEYS.has(key);
  if (state.sort.key === key) state.sort.dir = state.sort.dir === "asc" ? "desc" : "asc";
  else state.sort = { key: key, dir: numeric && key !== "status" ? "desc" : "asc" };
  renderList(Infinity);
}

function init() {
  $("empty-hint").textContent = "export README_METRICS_SERVER=" + location.origin +
    " README_API_URL=" + location.origin;  // the line collect prints
  const filters = [["path", "filter-path"], ["method", "filter-method"], ["status", "filter-status"],
    ["host", "filter-host"], ["caller", "filter-caller"]];
  for (const [name, id] of filters) {
    $(id).addEventListener("input", (event) => {
      const value = event.target.value.trim();
      state.filters[name] = name === "path" || name === "caller" ? value.toLowerCase() : value;
      renderList(Infinity);
    });
  }
  for (const th of document.querySelectorAll("#logs th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.sort));
  }
  const tbody = document.querySelector("#logs tbody");
  tbody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (tr) openDetail(tr.dataset.id, true, select);
  });
  tbody.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (tr && event.key === "Enter") openDetail(tr.dataset.id, true, select);
  });
  $("detail-close").addEventListener("click", () => closeDetail(true, select));
  $("copy-curl").addEventListener("click", copyCurl);
  $("clear").addEventListener("click", clearAll);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.selected) closeDetail(true, select);
  });
  window.addEventListener("popstate", () => {
    const id = idFromLocation();
    if (id) openDetail(id, false, select);
    else closeDetail(false, select);
  });
  window.addEventListener("resize", () => renderList(Infinity));
  const focused = idFromLocation();
  if (focused) openDetail(focused, false, select);
  poll();
  refreshSummary();
}

init();
