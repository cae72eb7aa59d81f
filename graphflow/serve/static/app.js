// graphflow serve: the web UI. Everything from a run is put in the page as text
// (textContent), never as markup; the only markup taken from the server is the diagram's
// SVG, which the server strips of scripts, links and event attributes, and which the
// page's Content-Security-Policy could not run anyway.
"use strict";

const $ = (id) => document.getElementById(id);
const STATUSES = ["running", "ready", "waiting", "completed", "failed", "limit_reached",
  "budget_exceeded", "timeout", "damaged"];

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

async function api(path, options) {
  const opts = Object.assign({headers: {}}, options || {});
  if (opts.body !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.body);
  }
  opts.headers["X-Graphflow-Request"] = "1";
  const response = await fetch(path, opts);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `${response.status} ${text.slice(0, 200)}`;
    throw new Error(message);
  }
  return data;
}

function notice(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

function when(seconds) {
  if (!seconds) return "-";
  const d = new Date(seconds * 1000);
  return d.toLocaleString();
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 1) return `${(seconds * 1000).toFixed(1)} ms`;
  if (seconds < 120) return `${seconds.toFixed(2)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

function statusBadge(status) {
  return el("span", {class: `status s-${status}`, text: status});
}

// ---- the runs list -------------------------------------------------------------------

let graphs = [];
let listTimer = null;

async function loadGraphs() {
  if (graphs.length) return;
  graphs = (await api("/api/graphs")).graphs;
  const pick = $("start-graph"), filter = $("filter-graph");
  for (const g of graphs) {
    pick.append(el("option", {value: g.name, text: g.name}));
    filter.append(el("option", {value: g.name, text: g.name}));
  }
  if (graphs.some((g) => g.name === "quickstart")) pick.value = "quickstart";
  describeGraph();
}

function describeGraph() {
  const chosen = graphs.find((g) => g.name === $("start-graph").value);
  $("start-description").textContent = chosen ? chosen.description : "";
  if (chosen && Object.keys(chosen.variables).length && !$("start-variables").value) {
    $("start-variables").placeholder = `JSON, defaults: ${JSON.stringify(chosen.variables)}`;
  }
}

async function loadRuns() {
  const query = new URLSearchParams();
  for (const [key, id] of [["status", "filter-status"], ["graph", "filter-graph"], ["text", "filter-text"]]) {
    if ($(id).value) query.set(key, $(id).value);
  }
  const runs = (await api(`/api/runs?${query}`)).runs;
  const body = $("runs-body");
  body.replaceChildren(...runs.map((r) => el("tr", {"data-run": r.run_id},
    el("td", {}, el("a", {href: `#/runs/${encodeURIComponent(r.run_id)}`, text: r.run_id})),
    el("td", {text: r.graph}),
    el("td", {}, statusBadge(r.status)),
    el("td", {class: "num", text: String(r.steps)}),
    el("td", {text: r.question ? `${r.question.id}: ${r.question.text}` : ""}),
    el("td", {class: "num", text: r.usage.tokens.toLocaleString()}),
    el("td", {class: "num", text: r.usage.cost_text}),
    el("td", {text: when(r.updated_at)}))));
  $("runs-empty").hidden = runs.length > 0;
}

async function startRun(event) {
  event.preventDefault();
  let variables = {};
  const text = $("start-variables").value.trim();
  if (text) {
    try { variables = JSON.parse(text); } catch (e) { notice(`variables are not JSON: ${e.message}`); return; }
  }
  $("start-button").disabled = true;
  try {
    const input = $("start-input").value;
    const made = await api("/api/runs", {body: {graph: $("start-graph").value, input: input || null, variables}});
    notice("");
    location.hash = `#/runs/${encodeURIComponent(made.run_id)}`;
  } catch (e) {
    notice(e.message);
  } finally {
    $("start-button").disabled = false;
  }
}

// ---- one run -------------------------------------------------------------------------

const view = {runId: null, source: null, question: null, status: null, timers: {}, selected: null};

function later(name, fn, ms) {
  clearTimeout(view.timers[name]);
  view.timers[name] = setTimeout(fn, ms);
}

function closeRun() {
  if (view.source) view.source.close();
  view.source = null;
  for (const t of Object.values(view.timers)) clearTimeout(t);
}

function openRun(runId) {
  closeRun();
  Object.assign(view, {runId, question: null, status: null, selected: null});
  for (const id of ["transcript", "steps-body", "calls", "diagram", "run-cards"]) $(id).replaceChildren();
  $("run-id").textContent = runId;
  $("run-graph").textContent = "";
  $("run-status").replaceChildren();
  $("answer-form").hidden = true;
  $("run-error").hidden = true;
  $("streaming").hidden = true;
  const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
  view.source = source;
  source.addEventListener("message", (e) => addMessage(JSON.parse(e.data)));
  source.addEventListener("step", (e) => addStep(JSON.parse(e.data)));
  source.addEventListener("run", (e) => showRun(JSON.parse(e.data)));
  source.addEventListener("token", (e) => addToken(JSON.parse(e.data)));
  source.addEventListener("end", () => { source.close(); document.body.dataset.ended = "1"; });
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) return;  // it reconnects by itself
    api(`/api/runs/${encodeURIComponent(runId)}`).then(() => notice("the event stream closed; reload to follow the run"),
      (e) => notice(e.message));
  };
  delete document.body.dataset.ended;
}

function addMessage(m) {
  $("streaming").hidden = true;
  $("streaming-text").textContent = "";
  const calls = (m.tool_calls || []).map((c) => el("pre", {class: "call",
    text: `${(c.function || {}).name}(${(c.function || {}).arguments || ""})`}));
  const meta = [m.node ? `node ${m.node}` : "run input", m.role, m.step >= 0 ? `step ${m.step}` : ""].filter(Boolean);
  const item = el("article", {class: `msg r-${m.role}`, "data-node": m.node || "", "data-seq": String(m.seq)},
    el("header", {}, el("span", {class: "speaker", text: m.name || m.node || m.role}),
      el("span", {class: "meta", text: meta.join(" · ")})),
    el("div", {class: "body", text: m.content || (calls.length ? "" : "(empty)")}), ...calls);
  if (view.selected && m.node !== view.selected) item.classList.add("hidden-by-filter");
  $("transcript").append(item);
}

function addToken(t) {
  const box = $("streaming");
  box.hidden = false;
  $("streaming-node").textContent = t.node;
  $("streaming-text").textContent += t.text;
}

function addStep(s) {
  $("transcript").append(el("div", {class: "step-mark", text: `step ${s.step} · ${s.nodes.join(", ")} · ${duration(s.seconds)}`}));
  const tokens = Object.values(s.usage || {}).reduce((n, u) => n + (u.prompt_tokens || 0) + (u.completion_tokens || 0), 0);
  const fork = el("button", {type: "button", class: "small fork", text: "fork here", title: `a new run from just before step ${s.step}`});
  fork.addEventListener("click", () => forkAt(s.step));
  $("steps-body").append(el("tr", {"data-step": String(s.step)},
    el("td", {class: "num", text: String(s.step)}), el("td", {text: s.nodes.join(", ")}),
    el("td", {text: duration(s.seconds)}), el("td", {class: "num", text: tokens.toLocaleString()}),
    el("td", {}, fork)));
  later("diagram", loadDiagram, 150);
  later("calls", loadCalls, 300);
}

function showRun(r) {
  const changed = r.status !== view.status;
  view.status = r.status;
  view.question = r.question;
  document.body.dataset.status = r.status;
  $("run-graph").textContent = r.graph;
  $("run-status").replaceChildren(statusBadge(r.status));
  $("run-reason").textContent = r.reason ? `stop reason: ${r.reason}` : "";
  $("run-lineage").textContent = r.forked_at !== null && r.parent_run ? `forked from ${r.parent_run} at step ${r.forked_at}`
    : (r.parent_run ? `inner run of node ${r.parent_node} of ${r.parent_run}` : "");
  $("run-cards").replaceChildren(...[["steps", String(r.steps)], ["tokens", r.usage.tokens.toLocaleString()],
    ["cost", r.usage.cost_text], ["model calls", String(r.usage.calls)], ["updated", when(r.updated_at)]]
    .map(([k, v]) => el("div", {class: "card"}, el("span", {text: k}), el("b", {text: v}))));
  const form = $("answer-form");
  if (r.question) {
    $("answer-node").textContent = r.question.node;
    $("answer-question").textContent = r.question.text;
    $("answer-id").textContent = `(question ${r.question.id})`;
    if (form.hidden) { form.hidden = false; $("answer-input").value = ""; $("answer-input").focus(); }
  } else {
    form.hidden = true;
  }
  if (changed) {
    later("diagram", loadDiagram, 100);
    if (r.status === "failed") loadError();
    else $("run-error").hidden = true;
  }
}

async function loadError() {
  try {
    const detail = await api(`/api/runs/${encodeURIComponent(view.runId)}`);
    $("run-error").textContent = detail.error || detail.reason || "";
    $("run-error").hidden = !(detail.error || detail.reason);
  } catch (e) { notice(e.message); }
}

async function loadDiagram() {
  const runId = view.runId;
  const response = await fetch(`/api/runs/${encodeURIComponent(runId)}/diagram.svg`);
  if (runId !== view.runId) return;
  if (!response.ok) {
    let message = `no diagram (${response.status})`;
    try { message = (await response.json()).error.message; } catch (e) { /* keep */ }
    $("diagram").replaceChildren(el("p", {class: "quiet", text: message}));
    return;
  }
  const parsed = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
  const svg = parsed.documentElement;
  if (!svg || svg.nodeName.toLowerCase() !== "svg") return;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  const node = document.importNode(svg, true);
  for (const g of node.querySelectorAll("g.node")) {
    const title = g.querySelector("title");
    const name = title ? title.textContent : "";
    g.setAttribute("data-node", name);
    g.addEventListener("click", () => selectNode(name));
  }
  $("diagram").replaceChildren(node);
  document.body.dataset.diagram = String(Number(document.body.dataset.diagram || 0) + 1);
}

function selectNode(name) {
  view.selected = view.selected === name ? null : name;
  for (const m of $("transcript").querySelectorAll(".msg")) {
    m.classList.toggle("hidden-by-filter", view.selected !== null && m.dataset.node !== view.selected);
  }
  notice(view.selected ? `showing the messages of ${view.selected}; click it again to show all` : "");
}

async function loadCalls() {
  const runId = view.runId;
  let calls;
  try { calls = (await api(`/api/runs/${encodeURIComponent(runId)}/calls`)).calls; } catch (e) { return; }
  if (runId !== view.runId) return;
  $("calls").replaceChildren(...calls.map((c) => {
    const facts = [`step ${c.step}`, c.node, c.model || "?", duration(c.seconds),
      `${(c.usage.tokens || 0).toLocaleString()} tokens (${c.usage.prompt_tokens || 0} in / ${c.usage.completion_tokens || 0} out)`,
      c.usage.cost_text];
    const prompt = el("ol", {class: "prompt"}, ...c.prompt.map((m) => el("li", {},
      el("b", {text: m.name || m.role}), " ", el("span", {class: "meta", text: m.role}),
      el("pre", {text: m.content || JSON.stringify(m.tool_calls || "")}))));
    const answer = c.error ? el("pre", {class: "callout failed", text: c.error})
      : el("div", {}, el("b", {text: "response"}), " ",
        el("span", {class: "meta", text: (c.response || {}).finish_reason || ""}),
        el("pre", {text: ((c.response || {}).message || {}).content || JSON.stringify(((c.response || {}).message || {}).tool_calls || "")}));
    return el("details", {class: "call"}, el("summary", {}, el("b", {text: `call ${c.seq}`}), " ",
      el("span", {class: "meta", text: facts.join(" · ")})),
      c.tools.length ? el("p", {class: "meta", text: `tools offered: ${c.tools.join(", ")}`}) : null,
      el("h4", {text: "prompt"}), prompt, answer);
  }));
  if (!calls.length) $("calls").append(el("p", {class: "quiet", text: "no model calls recorded"}));
}

async function answer(event) {
  event.preventDefault();
  if (!view.question) return;
  $("answer-button").disabled = true;
  try {
    await api(`/api/runs/${encodeURIComponent(view.runId)}/answer`,
      {body: {input: $("answer-input").value, question: view.question.id}});
    $("answer-form").hidden = true;
    notice("");
  } catch (e) {
    notice(e.message);
  } finally {
    $("answer-button").disabled = false;
  }
}

async function forkAt(step) {
  try {
    const made = await api(`/api/runs/${encodeURIComponent(view.runId)}/fork`, {body: {step, start: true}});
    location.hash = `#/runs/${encodeURIComponent(made.run_id)}`;
  } catch (e) {
    notice(e.message);
  }
}

// ---- routing -------------------------------------------------------------------------

async function route() {
  const match = location.hash.match(/^#\/runs\/([^/]+)$/);
  clearInterval(listTimer);
  notice("");
  if (match) {
    $("runs-view").hidden = true;
    $("run-view").hidden = false;
    openRun(decodeURIComponent(match[1]));
  } else {
    closeRun();
    $("run-view").hidden = true;
    $("runs-view").hidden = false;
    try {
      await loadGraphs();
      await loadRuns();
    } catch (e) { notice(e.message); }
    listTimer = setInterval(() => loadRuns().catch((e) => notice(e.message)), 3000);
  }
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  for (const s of STATUSES) $("filter-status").append(el("option", {value: s, text: s}));
  $("start-form").addEventListener("submit", startRun);
  $("start-graph").addEventListener("change", describeGraph);
  $("answer-form").addEventListener("submit", answer);
  for (const id of ["filter-status", "filter-graph"]) $(id).addEventListener("change", () => loadRuns().catch((e) => notice(e.message)));
  $("filter-text").addEventListener("input", () => later("filter", () => loadRuns().catch((e) => notice(e.message)), 250));
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("hashchange", route);
  route();
});
