// readme-metrics local dashboard: polls the collector's JSON API and renders it.
// Everything received is untrusted API traffic, so it only ever reaches the page through
// textContent and attributes, never innerHTML.
"use strict";

(function () {
  const POLL_MS = 1000;
  const SUMMARY_MS = 2000;
  const MAX_ROWS = 5000; // the collector keeps a bounded window; so does the page
  const SVG = "http://www.w3.org/2000/svg";

  const state = {
    rows: [], last: 0, keep: MAX_ROWS, selected: null,
    filters: { path: "", status: "", caller: "" },
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function ms(value) {
    if (value >= 1000) return (value / 1000).toFixed(2) + " s";
    if (value >= 10) return Math.round(value) + " ms";
    return value.toFixed(1) + " ms";
  }

  function clock(epochMs) {
    const d = new Date(epochMs);
    const pad = (n) => String(n).padStart(2, "0");
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  function setLive(ok) {
    const live = $("live");
    live.className = "live " + (ok ? "on" : "off");
    live.textContent = ok ? "live" : "collector unreachable, retrying…";
  }

  // -- the list --------------------------------------------------------------------

  function matches(row) {
    const f = state.filters;
    if (f.path && !(row.path + (row.query ? "?" + row.query : "")).toLowerCase().includes(f.path)) return false;
    if (f.status === "err" && row.status < 400) return false;
    if (f.status && f.status !== "err" && String(row.status)[0] !== f.status) return false;
    if (f.caller && !(row.caller + " " + row.email).toLowerCase().includes(f.caller)) return false;
    return true;
  }

  function rowElement(row, fresh) {
    const tr = el("tr", { "data-id": row.id, "data-seq": row.seq, tabindex: "0" });
    if (fresh) tr.classList.add("fresh");
    if (row.id === state.selected) tr.classList.add("selected");
    tr.append(
      el("td", { class: "mono", title: row.started }, clock(row.startedMs)),
      el("td", { class: "method" }, row.method),
      el("td", { class: "path", title: row.url }, row.path + (row.query ? "?" + row.query : "")),
    );
    const status = el("td");
    status.append(el("span", { class: "badge s" + String(row.status)[0], title: row.statusText }, row.status));
    const caller = el("td", { title: row.clientIPAddress ? "from " + row.clientIPAddress : "" }, row.caller || "-");
    if (row.email) caller.append(el("span", { class: "caller-email" }, row.email));
    tr.append(status, el("td", { class: "num" }, ms(row.duration)), caller);
    return tr;
  }

  function renderList(freshSeq) {
    const tbody = document.querySelector("#logs tbody");
    const shown = state.rows.filter(matches);
    tbody.replaceChildren(...shown.map((row) => rowElement(row, row.seq > freshSeq)));
    $("empty").hidden = state.rows.length > 0;
    $("shown").textContent = shown.length === state.rows.length
      ? state.rows.length + " calls"
      : shown.length + " of " + state.rows.length + " calls";
  }

  async function poll() {
    try {
      const data = await getJSON("/api/logs?limit=" + MAX_ROWS + "&after=" + state.last);
      setLive(true);
      if (data.logs.length) {
        const before = state.last;
        // Newest first from the server; keep the page's list newest first too.
        state.rows = data.logs.concat(state.rows).slice(0, state.keep);
        state.last = data.last;
        renderList(before === 0 ? Infinity : before);
        refreshSummary();
      } else if (data.last < state.last) {
        state.rows = []; // the collector restarted: start over
        state.last = 0;
      }
    } catch (err) {
      setLive(false);
    }
    setTimeout(poll, POLL_MS);
  }

  // -- the summary -------------------------------------------------------------------

  function renderChart(endpoints) {
    const chart = $("chart");
    const top = endpoints.slice(0, 12);
    const rowH = 22;
    const labelW = 260;
    const statsW = 150;
    const width = Math.max(chart.clientWidth || 600, labelW + statsW + 120);
    const barW = width - labelW - statsW - 50; // room for the count after the longest bar
    const max = Math.max(1, ...top.map((e) => e.count));
    chart.setAttribute("viewBox", "0 0 " + width + " " + Math.max(rowH, top.length * rowH));
    chart.setAttribute("height", String(Math.max(rowH, top.length * rowH)));
    const nodes = [];
    if (!top.length) {
      nodes.push(svg("text", { x: 0, y: 15, class: "muted" }, "no calls yet"));
    }
    top.forEach((e, i) => {
      const y = i * rowH;
      const okW = ((e.count - e.errors) / max) * barW;
      const errW = (e.errors / max) * barW;
      const g = svg("g", { "data-endpoint": e.endpoint });
      const label = svg("text", { x: 0, y: y + 15, class: "mono" },
        e.endpoint.length > 36 ? e.endpoint.slice(0, 35) + "…" : e.endpoint);
      label.append(svg("title", {}, e.endpoint));
      g.append(label);
      g.append(svg("rect", { x: labelW, y: y + 4, width: Math.max(okW, 0), height: rowH - 8, class: "bar-ok", rx: 2 }));
      if (errW > 0) {
        g.append(svg("rect", { x: labelW + okW, y: y + 4, width: errW, height: rowH - 8, class: "bar-err", rx: 2 }));
      }
      g.append(svg("text", { x: labelW + okW + errW + 6, y: y + 15 }, e.count));
      g.append(svg("text", { x: width - statsW, y: y + 15, class: "muted" },
        "p50 " + ms(e.p50) + " · p95 " + ms(e.p95)));
      nodes.push(g);
    });
    chart.replaceChildren(...nodes);
  }

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
      $("counts").textContent = s.kept < s.accepted
        ? "summary of the last " + s.kept + " calls" : "";
      renderChart(s.endpoints);
    } catch (err) {
      setLive(false);
    }
    summaryTimer = setTimeout(refreshSummary, SUMMARY_MS);
  }

  // -- one call in detail ------------------------------------------------------------

  function kvTable(table, pairs) {
    const rows = pairs.map((p) => {
      const tr = el("tr");
      tr.append(el("td", {}, p.name), el("td", {}, p.value === undefined ? "" : p.value));
      return tr;
    });
    if (!rows.length) {
      const tr = el("tr");
      tr.append(el("td", {}, "(none)"), el("td"));
      rows.push(tr);
    }
    table.replaceChildren(...rows);
  }

  function pretty(text, mimeType) {
    const looksJson = /json/i.test(mimeType || "") || /^\s*[[{]/.test(text);
    if (looksJson) {
      try {
        return JSON.stringify(JSON.parse(text), null, 2);
      } catch (err) {
        // not JSON after all (or truncated): show as received
      }
    }
    return text;
  }

  function showBody(pre, text, none) {
    pre.classList.toggle("none", text === null);
    pre.textContent = text === null ? none : text;
  }

  function requestBody(post) {
    if (!post) return null;
    if (post.params) {
      return post.params.map((p) => {
        const file = p.fileName !== undefined ? " (file " + p.fileName + ", " + (p.contentType || "?") + ")" : "";
        return p.name + file + " = " + (p.value === undefined ? "" : p.value);
      }).join("\n");
    }
    if (post.comment && post.comment.startsWith("base64")) {
      return "binary body (" + post.mimeType + "), base64:\n" + post.text;
    }
    return pretty(post.text || "", post.mimeType);
  }

  function responseBody(content) {
    if (content.text === undefined || content.text === "") return null;
    if (content.encoding === "base64") {
      return "binary body (" + content.mimeType + ", " + content.size + " bytes), base64:\n" + content.text;
    }
    return pretty(content.text, content.mimeType);
  }

  function renderDetail(log) {
    const entry = log.entry;
    const req = entry.request;
    const res = entry.response;
    $("detail-title").textContent = req.method + " " + req.url + "  →  " + res.status + " " + (res.statusText || "");
    const meta = $("detail-meta");
    const items = [
      ["Started", entry.startedDateTime],
      ["Duration", ms(entry.time) + "  (wait " + ms(entry.timings.wait) + ")"],
      ["Caller", (log.caller || "-") + (log.email ? " <" + log.email + ">" : "")],
      ["Group id", log.groupId],
      ["Client IP", log.clientIPAddress],
      ["Log id", log.id],
    ];
    if (log.development) items.push(["Mode", "development"]);
    if (entry.comment) items.push(["Note", entry.comment]);
    meta.replaceChildren(...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    kvTable($("detail-request-headers"), req.headers);
    $("detail-query-box").hidden = !req.queryString.length;
    kvTable($("detail-query"), req.queryString);
    showBody($("detail-request-body"), requestBody(req.postData), "(no body)");
    kvTable($("detail-response-headers"), res.headers);
    const noBody = res.content.size > 0 ? "(" + res.content.size + " bytes, not recorded)" : "(empty)";
    showBody($("detail-response-body"), responseBody(res.content), noBody);
    if (res.content.comment) {
      $("detail-response-body").textContent += "\n\n[" + res.content.comment + "]";
    }
  }

  async function openDetail(id, push) {
    state.selected = id;
    for (const tr of document.querySelectorAll("#logs tbody tr")) {
      tr.classList.toggle("selected", tr.dataset.id === id);
    }
    const detail = $("detail");
    detail.hidden = false;
    document.querySelector(".split").classList.add("open");
    if (push && location.pathname !== "/logs/" + id) {
      history.pushState({ id: id }, "", "/logs/" + encodeURIComponent(id));
    }
    try {
      renderDetail(await getJSON("/api/logs/" + encodeURIComponent(id)));
    } catch (err) {
      $("detail-title").textContent = "This call is no longer kept by the collector (" + id + ")";
      $("detail-meta").replaceChildren();
      for (const name of ["detail-request-headers", "detail-query", "detail-response-headers"]) {
        $(name).replaceChildren();
      }
      showBody($("detail-request-body"), null, "");
      showBody($("detail-response-body"), null, "");
    }
  }

  function closeDetail(push) {
    state.selected = null;
    $("detail").hidden = true;
    document.querySelector(".split").classList.remove("open");
    for (const tr of document.querySelectorAll("#logs tbody tr.selected")) tr.classList.remove("selected");
    if (push && location.pathname !== "/") history.pushState({}, "", "/");
  }

  function idFromLocation() {
    const m = location.pathname.match(/^\/logs\/([^/]+)$/);
    return m ? decodeURIComponent(m[1]) : null;
  }

  // -- wiring -----------------------------------------------------------------------

  function init() {
    $("empty-hint").textContent = "README_METRICS_SERVER=" + location.origin;
    for (const [name, id] of [["path", "filter-path"], ["status", "filter-status"], ["caller", "filter-caller"]]) {
      $(id).addEventListener("input", (event) => {
        state.filters[name] = event.target.value.trim().toLowerCase();
        renderList(Infinity);
      });
    }
    const tbody = document.querySelector("#logs tbody");
    tbody.addEventListener("click", (event) => {
      const tr = event.target.closest("tr[data-id]");
      if (tr) openDetail(tr.dataset.id, true);
    });
    tbody.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr[data-id]");
      if (tr && event.key === "Enter") openDetail(tr.dataset.id, true);
    });
    $("detail-close").addEventListener("click", () => closeDetail(true));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.selected) closeDetail(true);
    });
    window.addEventListener("popstate", () => {
      const id = idFromLocation();
      if (id) openDetail(id, false);
      else closeDetail(false);
    });
    const focused = idFromLocation();
    if (focused) openDetail(focused, false);
    poll();
    refreshSummary();
  }

  init();
})();
