// One call in detail: meta data, headers, bodies (JSON pretty-printed), copy as cURL.
import { $, el, getJSON, ms } from "./util.js";
import { toCurl } from "./curl.js";

let current = null; // the entry shown, for "Copy as cURL"

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
  current = entry;
  $("detail-gone").hidden = true;
  $("detail-body").hidden = false;
  $("detail-title").textContent = req.method + " " + req.url + "  →  " + res.status + " " + (res.statusText || "");
  const items = [
    ["Started", entry.startedDateTime],
    ["Duration", ms(entry.time) + "  (wait " + ms(entry.timings.wait) + ")"],
    ["Host", log.host],
    ["Caller", (log.caller || "-") + (log.email ? " <" + log.email + ">" : "")],
    ["Group id", log.groupId],
    ["Client IP", log.clientIPAddress],
    ["Log id", log.id],
  ];
  if (log.development) items.push(["Mode", "development"]);
  if (entry.comment) items.push(["Note", entry.comment]);
  $("detail-meta").replaceChildren(...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
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
  $("copy-curl").disabled = false;
  $("curl-box").hidden = true;
}

// A call the collector does not hold (an x-documentation-url from before its start or a
// Clear, or past --keep): no empty Request and Response sections, but where it still is.
function renderGone(id) {
  current = null;
  $("detail-title").textContent = "This call is not kept by the collector (" + id + ")";
  $("detail-gone").textContent = "The dashboard shows the last calls this collector " +
    "received (1000 unless collect --keep says another number), until Clear or its stop. " +
    "Its HAR file (readme-metrics.har, or the file collect --har names) keeps every " +
    "call: import it in your browser's devtools, Network tab.";
  $("detail-gone").hidden = false;
  $("detail-body").hidden = true;
  $("copy-curl").disabled = true;
  $("curl-box").hidden = true;
}

export async function openDetail(id, push, onSelect) {
  onSelect(id);
  $("detail").hidden = false;
  document.querySelector(".split").classList.add("open");
  if (push && location.pathname !== "/logs/" + id) {
    history.pushState({ id: id }, "", "/logs/" + encodeURIComponent(id));
  }
  try {
    renderDetail(await getJSON("/api/logs/" + encodeURIComponent(id)));
  } catch (err) {
    renderGone(id);
  }
}

export function closeDetail(push, onSelect) {
  onSelect(null);
  current = null;
  $("detail").hidden = true;
  document.querySelector(".split").classList.remove("open");
  if (push && location.pathname !== "/") history.pushState({}, "", "/");
}

// The command is also shown, so it can be selected by hand where the clipboard is refused.
export async function copyCurl() {
  if (!current) return;
  const command = toCurl(current);
  $("curl-text").textContent = command;
  $("curl-box").hidden = false;
  try {
    await navigator.clipboard.writeText(command);
    $("curl-status").textContent = "copied to the clipboard";
  } catch (err) {
    $("curl-status").textContent = "select and copy it:";
  }
}
