// apicanary dashboard: polls /_apicanary/view every second and updates the DOM in place.
// Buttons only write intents (POST /_apicanary/rollouts/{id}/intents); the controller acts.
// Each rollout carries its server-side view-model (`view`): phase text, arms, evidence and
// the allowed actions come from there; this file only draws them.

import { renderCharts } from "./charts.js";
import { $, clock, el, num, pct, setAttr, setText, syncChildren } from "./dom.js";

const VIEW_URL = "/_apicanary/view";
const TOKEN_KEY = "apicanary.controlToken";
const POLL_MS = 1000;
const JOURNAL_MAX = 300;

const INTENT_LABELS = {
  promote: "Promote",
  "promote-full": "Promote fully",
  pause: "Pause",
  resume: "Resume",
  abort: "Abort",
};

const state = {
  journalFor: null,
  journalAfter: 0,
  journalPicked: false,
  tokenAsked: false,
  view: null,
};

// -- the control token (only needed off loopback, when APICANARY_CONTROL_TOKEN is set) --------

function adoptTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    url.searchParams.delete("token"); // keep the token out of history and screenshots
    window.history.replaceState(null, "", url);
  }
}

function askToken() {
  const token = window.prompt("Control token (the server's APICANARY_CONTROL_TOKEN):", "");
  if (token && token.trim()) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    $("#set-token").hidden = true;
    refresh();
  }
}

function onUnauthorized() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("#set-token").hidden = false;
  if (!state.tokenAsked) {
    state.tokenAsked = true;
    askToken();
  }
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  if (response.status === 401 || response.status === 403) {
    onUnauthorized();
    throw new HttpError(response.status, "the control plane needs a valid token");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    throw new HttpError(response.status, `unexpected answer (HTTP ${response.status})`);
  }
  if (!response.ok) {
    throw new HttpError(response.status, data?.error?.message || `HTTP ${response.status}`);
  }
  return data;
}

// -- rollouts --------------------------------------------------------------------------------

function createRollout() {
  return $("#rollout-tpl").content.firstElementChild.cloneNode(true);
}

function updateRollout(card, r) {
  const f = (name) => card.querySelector(`[data-f="${name}"]`);
  const v = r.view;
  const name = `${v.function}:${v.alias}`;
  setText(f("title"), name);
  const badge = f("status");
  setText(badge, v.statusText);
  setAttr(badge, "class", `badge s-${v.status}`);
  setText(f("versions"), `version ${v.fromVersion} → ${v.toVersion}`);
  setText(f("mode"), v.modeText);
  setText(f("strategy"), v.strategy);
  setText(f("id"), v.id);
  const weight = Math.max(0, Math.min(100, Number(v.weight) || 0));
  setText(f("weight"), pct(weight));
  const bar = f("bar");
  if (bar.style.width !== `${weight}%`) bar.style.width = `${weight}%`;
  const meter = f("meter");
  setAttr(meter, "aria-valuenow", weight);
  setAttr(meter, "aria-label", `Canary weight of ${name}`);
  setText(f("share"), pct(v.share));
  setText(f("phase"), v.phaseText);
  setText(f("stable"), `${v.stable.requests} (${v.stable.errors})`);
  setText(f("canary"), `${v.canary.requests} (${v.canary.errors})`);
  setText(f("errorEvidence"), `${num(v.errorEvidence)} / ${num(v.errorThreshold)}`);
  setText(f("latencyEvidence"), `${num(v.latencyEvidence)} / ${num(v.latencyThreshold)}`);
  setText(f("remaining"), v.remainingCanaryRequests ?? "–");
  setText(f("reason"), v.note);
  setAttr(f("actions"), "aria-label", `Actions for rollout ${v.id} (${name})`);
  const busy = card.dataset.busy === "1";
  for (const button of card.querySelectorAll("button[data-intent]")) {
    button.disabled = busy || !v.allowedActions.includes(button.dataset.intent);
  }
}

function renderRollouts(active) {
  $("#no-rollouts").hidden = active.length > 0;
  syncChildren($("#rollouts"), active, (r) => r.id, createRollout, updateRollout);
}

function disarm(button) {
  button.classList.remove("armed");
  setText(button, INTENT_LABELS.abort);
}

async function onRolloutClick(event) {
  const button = event.target.closest("button");
  const card = button?.closest("[data-key]");
  if (!button || !card) return;
  const id = card.dataset.key;
  if (button.dataset.action === "journal") {
    selectJournal(id, true);
    refresh();
    return;
  }
  const kind = button.dataset.intent;
  if (!kind) return;
  if (kind === "abort" && !button.classList.contains("armed")) {
    button.classList.add("armed"); // a second click within 4 s confirms
    setText(button, "Confirm abort");
    setTimeout(() => disarm(button), 4000);
    return;
  }
  if (kind === "abort") disarm(button);
  const feedback = card.querySelector('[data-f="feedback"]');
  feedback.classList.remove("error");
  setText(feedback, `sending ${INTENT_LABELS[kind].toLowerCase()}…`);
  card.dataset.busy = "1";
  try {
    await api(`/_apicanary/rollouts/${encodeURIComponent(id)}/intents`, {
      method: "POST",
      body: JSON.stringify({ kind }),
    });
    setText(feedback, `${INTENT_LABELS[kind]} requested at ${clock(Date.now() / 1000)}; the controller applies it on its next tick.`);
  } catch (error) {
    feedback.classList.add("error");
    setText(feedback, `${INTENT_LABELS[kind]} failed: ${error.message}`);
  } finally {
    delete card.dataset.busy;
    refresh();
  }
}

function renderPast(past) {
  const create = () =>
    el("tr", {},
      el("td", {}, el("button", { type: "button", class: "quiet", "data-action": "journal" })),
      el("td"), el("td", {}, el("span", { class: "badge" })), el("td"), el("td", { class: "num" }));
  const update = (row, r) => {
    const [idCell, target, status, reason, ended] = row.cells;
    const button = idCell.firstElementChild;
    setText(button, r.id);
    setAttr(button, "aria-label", `Show the journal of rollout ${r.id}`);
    setText(target, r.view.target);
    setText(status.firstElementChild, r.view.statusText);
    setAttr(status.firstElementChild, "class", `badge s-${r.view.status}`);
    setText(reason, r.reason || "");
    setText(ended, clock(r.endedAt || r.updatedAt));
  };
  syncChildren($("#past tbody"), past, (r) => r.id, create, update);
}

// -- journal ---------------------------------------------------------------------------------

function selectJournal(id, byUser) {
  if (byUser) state.journalPicked = true;
  if (id === state.journalFor) return;
  state.journalFor = id;
  state.journalAfter = 0;
  $("#journal").replaceChildren();
}

function chooseJournal(view) {
  const all = [...view.rollouts.active, ...view.rollouts.past];
  const current = all.find((r) => r.id === state.journalFor);
  if (!current || !state.journalPicked) {
    const first = view.rollouts.active[0] || view.rollouts.past[0];
    selectJournal(first ? first.id : null, false);
  }
  const shown = all.find((r) => r.id === state.journalFor);
  $("#no-journal").hidden = Boolean(shown);
  setText($("#journal-for"), shown ? `${shown.view.target} · ${shown.id}` : "");
}

async function pollJournal() {
  const id = state.journalFor;
  if (!id) return;
  const path = `/_apicanary/rollouts/${encodeURIComponent(id)}/events?after=${state.journalAfter}`;
  const data = await api(path);
  if (id !== state.journalFor || !data.events.length) return;
  const list = $("#journal");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  for (const event of data.events) {
    list.append(
      el("li", {},
        el("time", { datetime: new Date(event.at * 1000).toISOString() }, clock(event.at)),
        el("span", { class: "kind" }, event.kind),
        el("span", {}, event.message)));
    state.journalAfter = Math.max(state.journalAfter, event.seq);
  }
  while (list.children.length > JOURNAL_MAX) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// -- tables ----------------------------------------------------------------------------------

function renderApis(apis) {
  const rows = apis.flatMap((api) => api.stages.map((stage) => ({ api, stage })));
  const create = () => el("tr", {}, el("td"), el("td"), el("td", {}, el("code")), el("td", { class: "num" }), el("td", {}, el("code")), el("td"));
  const update = (row, { api, stage }) => {
    const [name, stageCell, deployment, percent, canaryDeployment, overrides] = row.cells;
    setText(name, `${api.name} (${api.id})${api.kind === "HTTP" ? " · HTTP API" : ""}`);
    setText(stageCell, stage.name);
    setText(deployment.firstElementChild, stage.deploymentId || "–");
    const canary = stage.canary;
    // HTTP API stages have no canary: they are released by alias weights
    setText(percent, canary ? pct(canary.percentTraffic) : api.kind === "HTTP" ? "alias only" : "–");
    setText(canaryDeployment.firstElementChild, canary ? canary.deploymentId || "–" : "–");
    const pairs = canary ? Object.entries(canary.stageVariableOverrides) : [];
    setText(overrides, pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(", ") : "–");
  };
  syncChildren($("#apis tbody"), rows, (r) => `${r.api.id}/${r.stage.name}`, create, update);
}

function renderFunctions(functions) {
  const rows = functions.flatMap((fn) =>
    fn.aliases.length ? fn.aliases.map((alias) => ({ fn, alias })) : [{ fn, alias: null }]);
  const create = () => el("tr", {}, el("td"), el("td", { class: "num" }), el("td"), el("td", {}, el("span"), el("div", { class: "split", "aria-hidden": "true" })));
  const update = (row, { fn, alias }) => {
    const [name, versions, aliasCell, split] = row.cells;
    setText(name, fn.name);
    const shown = fn.versions.length > 6 ? ["…", ...fn.versions.slice(-5)] : fn.versions;
    setText(versions, shown.length ? shown.join(", ") : "$LATEST only");
    setText(aliasCell, alias ? `${alias.name} → ${alias.version}` : "–");
    const weights = alias ? Object.entries(alias.weights) : [];
    setText(split.firstElementChild, weights.length ? weights.map(([v, w]) => `${v}: ${pct(w)}`).join(" · ") : "–");
    const bar = split.lastElementChild;
    syncChildren(bar, weights, ([v]) => v, () => el("span"), (seg, [v, w]) => {
      setAttr(seg, "class", v === alias.version ? "stable" : "canary");
      if (seg.style.width !== `${w}%`) seg.style.width = `${w}%`;
    });
  };
  syncChildren($("#functions tbody"), rows, (r) => `${r.fn.name}:${r.alias ? r.alias.name : ""}`, create, update);
}

function renderRuntime(runtime) {
  for (const dd of document.querySelectorAll("#runtime dd")) {
    setText(dd, runtime[dd.dataset.k] ?? "–");
  }
}

// -- the loop --------------------------------------------------------------------------------

function render(view) {
  state.view = view;
  renderRollouts(view.rollouts.active);
  renderPast(view.rollouts.past);
  renderApis(view.apis);
  renderFunctions(view.functions);
  renderCharts(view.series, view.window);
  renderRuntime(view.runtime || {});
  chooseJournal(view);
}

function setConnection(ok, text) {
  const conn = $("#conn");
  setAttr(conn, "class", `conn ${ok ? "live" : "down"}`);
  setText(conn, text);
}

let running = false;
let again = false;
let timer = 0;

async function refresh() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  try {
    render(await api(VIEW_URL));
    await pollJournal();
    setConnection(true, `live · updated ${clock(Date.now() / 1000)}`);
  } catch (error) {
    setConnection(false, `disconnected: ${error.message} (retrying)`);
  } finally {
    running = false;
    timer = setTimeout(refresh, again ? 0 : POLL_MS);
    again = false;
  }
}

function main() {
  adoptTokenFromUrl();
  $("#set-token").addEventListener("click", askToken);
  $("#rollouts").addEventListener("click", onRolloutClick);
  $("#past").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action=journal]");
    const row = button?.closest("[data-key]");
    if (row) {
      selectJournal(row.dataset.key, true);
      refresh();
    }
  });
  refresh();
}

main();
