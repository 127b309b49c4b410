// dialer console: a single page over the console's JSON API and SSE stream.
// Plain JavaScript, no framework, no build step. Nothing is written with innerHTML from data:
// every text goes through textContent.
"use strict";

const STATES = ["dialing", "ringing", "answered", "queued", "offered", "talking", "held", "transferred", "suspect"];
const ENDED_LINGER_MS = 4000;
const CHART_WINDOW_US = 10 * 60 * 1e6;

let csrf = null;
let demo = false;
let kept = false; // campaigns are kept in a state file across restarts
let page = null; // the current page's teardown

// ---------- helpers ----------

function h(tag, attrs, ...children) {
  const el = document.createElementNS(
    tag === "svg" || attrs && attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "svg" || value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs) {
  return h(tag, Object.assign({ svg: true }, attrs));
}

async function api(method, path, body, contentType) {
  const headers = {};
  if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") {
      headers["Content-Type"] = contentType || "text/plain";
      payload = body;
    } else {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
  }
  const response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (response.status === 401) {
    location.href = "/login";
    throw new Error("not logged in");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!response.ok) {
    const error = new Error((data && data.error) || response.statusText);
    error.data = data;
    throw error;
  }
  return data;
}

function pct(x, digits = 1) {
  return (100 * (x || 0)).toFixed(digits) + "%";
}

function clock(us) {
  const s = Math.max(0, Math.floor(us / 1e6));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return (hh ? hh + ":" + String(mm).padStart(2, "0") : mm) + ":" + String(ss).padStart(2, "0");
}

function duration(us) {
  const s = Math.max(0, us / 1e6);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  return clock(us);
}

function pacingText(pacing) {
  if (!pacing) return "—";
  switch (pacing.strategy) {
    case "power": return "power × " + pacing.ratio;
    case "rate": return "rate " + pacing.per_minute + "/min";
    default: return pacing.strategy;
  }
}

function errorText(error) {
  const problems = error.data && error.data.problems;
  if (problems && problems.length) {
    return error.message + "\n" + problems.map((p) => (p.line ? "line " + p.line + ": " : "") + p.path + ": " + p.message).join("\n");
  }
  return error.message;
}

function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) return Promise.resolve(null);
  return file.text();
}

function setConnection(state) {
  const el = document.getElementById("connection");
  el.className = "connection " + (state || "");
  el.textContent = state === "live" ? "live" : state === "down" ? "reconnecting" : "";
}

// ---------- campaign list ----------

function listPage(app) {
  const rows = h("tbody", { id: "campaign-rows" });
  const table = h("table", { id: "campaigns" },
    h("thead", {}, h("tr", {},
      h("th", { text: "#" }), h("th", { text: "Campaign" }), h("th", { text: "Kind" }),
      h("th", { text: "Phase" }), h("th", { text: "Pacing" }), h("th", { class: "num", text: "Attempts" }),
      h("th", { class: "num", text: "Live calls" }), h("th", { class: "num", text: "Abandon" }))),
    rows);

  const tomlBox = h("textarea", { id: "campaign-toml", spellcheck: "false", placeholder: "[campaign]\nname = \"spring-promo\"\n..." });
  const csvInput = h("input", { id: "leads-csv", type: "file", accept: ".csv,.txt,text/csv,text/plain" });
  const capInput = h("input", { id: "abandon-cap", type: "number", min: "0.1", max: "50", step: "0.1", value: "3" });
  const createMessage = h("div", { id: "create-message" });
  const createButton = h("button", { id: "create-campaign", class: "primary", type: "button" }, "Create campaign");
  createButton.addEventListener("click", async () => {
    createMessage.replaceChildren();
    createButton.disabled = true;
    try {
      const csv = await readFile(csvInput);
      const request = { toml: tomlBox.value, abandon_cap: Number(capInput.value) / 100 };
      if (csv !== null) request.leads_csv = csv;
      const created = await api("POST", "/api/campaigns", request);
      location.hash = "#/campaigns/" + created.id;
    } catch (error) {
      createMessage.replaceChildren(h("div", { class: "error-box", text: errorText(error) }));
    } finally {
      createButton.disabled = false;
    }
  });

  const traceInput = h("input", { id: "trace-file", type: "file", accept: ".jsonl,.json,.txt" });
  const speedSelect = h("select", { id: "playback-speed" },
    [1, 5, 10, 30, 60, 300].map((s) => h("option", { value: String(s), selected: s === 10, text: s + "×" })));
  const playMessage = h("div", {});
  const playButton = h("button", { id: "load-trace", type: "button" }, "Load trace");
  playButton.addEventListener("click", async () => {
    playMessage.replaceChildren();
    try {
      const text = await readFile(traceInput);
      if (text === null) throw new Error("choose a trace file (dialer simulate --trace FILE)");
      const name = (traceInput.files[0].name || "trace").replace(/\.[^.]*$/, "");
      const created = await api("POST", "/api/playbacks?name=" + encodeURIComponent(name) + "&speed=" + speedSelect.value, text);
      location.hash = "#/campaigns/" + created.id;
    } catch (error) {
      playMessage.replaceChildren(h("div", { class: "error-box", text: errorText(error) }));
    }
  });

  const keptNote = h("p", { class: "muted small", id: "kept-note", text: kept
    ? "Campaigns are kept in the console's state file and come back after a restart; those running when the console stopped come back interrupted, dialing nobody until started again."
    : "Campaigns live in memory: a restart of the console forgets them (start it with --state FILE to keep them)." });

  app.replaceChildren(
    h("div", { class: "page-head" }, h("h1", { text: "Campaigns" })),
    h("div", { class: "card" }, h("div", { class: "table-wrap" }, table), keptNote),
    h("div", { class: "grid two" },
      h("section", { class: "card", id: "new-campaign" },
        h("h2", { text: "New campaign" }),
        h("p", { class: "muted small" },
          "A campaign file in the format of ", h("code", { text: "dialer run" }),
          " (TOML). Give the leads in the file's [leads] section, or upload them as CSV: one phone number per line, or a column named phone."),
        tomlBox,
        h("div", { class: "row" },
          h("div", {}, h("label", { for: "leads-csv", text: "Leads (CSV)" }), csvInput),
          h("div", {}, h("label", { for: "abandon-cap", text: "Abandon cap (%)" }), capInput),
          h("div", {}, createButton)),
        createMessage),
      h("section", { class: "card", id: "playback" },
        h("h2", { text: "Play back a simulation" }),
        h("p", { class: "muted small" },
          "Load a trace written by ", h("code", { text: "dialer simulate SCENARIO --trace FILE" }),
          " and watch the day unfold in this console at the chosen speed."),
        h("div", { class: "row" },
          h("div", {}, h("label", { for: "trace-file", text: "Trace (JSON lines)" }), traceInput),
          h("div", {}, h("label", { for: "playback-speed", text: "Speed" }), speedSelect),
          h("div", {}, playButton)),
        playMessage)));

  if (demo) {
    api("GET", "/api/demo/template").then((text) => {
      if (!tomlBox.value) tomlBox.value = text;
    }).catch(() => {});
  }

  async function refresh() {
    try {
      const data = await api("GET", "/api/campaigns");
      const list = data.campaigns.slice().reverse();
      if (!list.length) {
        rows.replaceChildren(h("tr", {}, h("td", { colspan: "8", class: "empty", text: "No campaigns yet. Create one below." })));
        return;
      }
      rows.replaceChildren(...list.map((c) => {
        const s = c.status;
        return h("tr", { "data-id": String(c.id) },
          h("td", { class: "num", text: String(c.id) }),
          h("td", {}, h("a", { href: "#/campaigns/" + c.id, class: "campaign-link", text: c.name })),
          h("td", { text: c.kind }),
          h("td", {}, h("span", { class: "badge phase-" + c.phase, text: c.phase })),
          h("td", { text: c.kind === "playback" ? (c.speed + "× playback") : pacingText(c.pacing) }),
          h("td", { class: "num", text: s ? String(s.attempts) : "—" }),
          h("td", { class: "num", text: s ? String(STATES.reduce((n, k) => n + s.calls[k], 0)) : "—" }),
          h("td", { class: "num", text: s ? pct(s.abandon_rate) : "—" }));
      }));
    } catch (error) {
      rows.replaceChildren(h("tr", {}, h("td", { colspan: "8", class: "error-box", text: errorText(error) })));
    }
  }
  refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}

// ---------- campaign page ----------

function campaignPage(app, id) {
  let view = null;         // the campaign as the API shows it
  let seq = 0;             // last call change applied
  const calls = new Map(); // attempt -> call
  let history = [];
  let engineAt = { us: 0, local: performance.now() };
  let source = null;
  let closed = false;

  const title = h("h1", { id: "campaign-name", text: "Campaign " + id });
  const phase = h("span", { id: "campaign-phase", class: "badge" });
  const subtitle = h("span", { id: "campaign-pacing", class: "muted" });
  const button = (label, cls, action, extra) => {
    const b = h("button", Object.assign({ type: "button", class: cls, id: "btn-" + action }, extra || {}), label);
    b.addEventListener("click", () => control(action, b));
    return b;
  };
  const buttons = {
    start: button("Start", "good", "start"),
    pause: button("Pause dialing", "warn", "pause"),
    resume: button("Resume", "good", "resume"),
    stop: button("Stop", "bad", "stop", { title: "No new dials; calls in progress end normally" }),
    stopNow: button("Stop now", "bad", "stop-now", { title: "End the run at once" }),
  };
  const controlMessage = h("div", { id: "control-message" });

  const guardBanner = h("div", { id: "guard-banner", class: "banner guard hidden", role: "status" });
  const adminBanner = h("div", { id: "admin-banner", class: "banner admin hidden", role: "status" });
  const endBanner = h("div", { id: "end-banner", class: "banner hidden", role: "status" });
  const stateBanner = h("div", { id: "state-banner", class: "banner error hidden", role: "alert" });

  const agentsValue = h("div", { class: "value", id: "agents-value" });
  const agentsBar = h("div", { class: "bar", id: "agents-bar" });
  const agentsCaption = h("div", { class: "caption", id: "agents-caption" });
  const queueValue = h("div", { class: "value", id: "queue-value" });
  const queueBar = h("div", { class: "bar", id: "queue-bar" });
  const queueCaption = h("div", { class: "caption", id: "queue-caption" });
  const abandonValue = h("div", { class: "value", id: "abandon-value" });
  const abandonBar = h("div", { class: "bar", id: "abandon-bar" });
  const abandonCaption = h("div", { class: "caption", id: "abandon-caption" });
  const dialValue = h("div", { class: "value", id: "dial-value" });
  const dialCaption = h("div", { class: "caption", id: "dial-caption" });

  const totals = h("dl", { class: "stats-list", id: "totals" });
  const outcomes = h("dl", { class: "stats-list", id: "outcomes" });
  const chart = h("div", { class: "chart", id: "chart" });
  const callRows = h("tbody", { id: "call-rows" });
  const callCount = h("span", { class: "muted small", id: "call-count" });

  const strategySelect = h("select", { id: "pacing-strategy" },
    ["progressive", "power", "rate"].map((s) => h("option", { value: s, text: s })));
  const ratioInput = h("input", { id: "pacing-ratio", type: "number", min: "1", max: "10", step: "0.1", value: "2" });
  const rateInput = h("input", { id: "pacing-rate", type: "number", min: "0.1", step: "1", value: "30" });
  const pacingMessage = h("div", { id: "pacing-message" });
  const pacingButton = h("button", { id: "pacing-apply", type: "button", class: "primary" }, "Apply pacing");
  const pacingCard = h("section", { class: "card", id: "pacing-card" },
    h("h2", { text: "Pacing" }),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "pacing-strategy", text: "Strategy" }), strategySelect),
      h("div", { id: "ratio-field" }, h("label", { for: "pacing-ratio", text: "Lines per idle agent" }), ratioInput),
      h("div", { id: "rate-field" }, h("label", { for: "pacing-rate", text: "Dials per minute" }), rateInput),
      h("div", {}, pacingButton)),
    pacingMessage);
  const speedSelect = h("select", { id: "speed-select" },
    [1, 5, 10, 30, 60, 300, 1000].map((s) => h("option", { value: String(s), text: s + "×" })));
  const speedCard = h("section", { class: "card hidden", id: "speed-card" },
    h("h2", { text: "Playback speed" }), h("div", { class: "row" }, h("div", {}, speedSelect)));
  speedSelect.addEventListener("change", async () => {
    try { await api("POST", "/api/campaigns/" + id + "/speed", { speed: Number(speedSelect.value) }); } catch (_) { /* shown on next update */ }
  });
  function showStrategyFields() {
    document.getElementById("ratio-field").classList.toggle("hidden", strategySelect.value !== "power");
    document.getElementById("rate-field").classList.toggle("hidden", strategySelect.value !== "rate");
  }
  strategySelect.addEventListener("change", showStrategyFields);
  pacingButton.addEventListener("click", async () => {
    pacingMessage.replaceChildren();
    const strategy = strategySelect.value;
    const change = {
      strategy,
      ratio: strategy === "power" ? Number(ratioInput.value) : null,
      rate_per_minute: strategy === "rate" ? Number(rateInput.value) : null,
    };
    try {
      const pacing = await api("POST", "/api/campaigns/" + id + "/pacing", change);
      pacingMessage.replaceChildren(h("div", { class: "ok-box", text: "Pacing is now " + pacingText(pacing) + "." }));
      if (view) { view.pacing = pacing; render(); }
    } catch (error) {
      pacingMessage.replaceChildren(h("div", { class: "error-box", text: errorText(error) }));
    }
  });

  app.replaceChildren(
    h("div", { class: "page-head" },
      h("a", { href: "#/", class: "small", text: "← Campaigns" }),
      title, phase, subtitle,
      h("div", { class: "controls" }, Object.values(buttons))),
    controlMessage, stateBanner, guardBanner, adminBanner, endBanner,
    h("div", { class: "grid gauges" },
      h("section", { class: "card gauge", id: "agents-gauge" }, h("h2", { text: "Agents" }), agentsValue, agentsBar,
        h("div", { class: "legend" }, h("span", {}, h("i", { class: "k-on" }), "on calls"), h("span", {}, h("i", { class: "k-wrap" }), "wrap-up"), h("span", {}, h("i", { class: "k-idle" }), "idle")),
        agentsCaption),
      h("section", { class: "card gauge", id: "queue-gauge" }, h("h2", { text: "Queue" }), queueValue, queueBar, queueCaption),
      h("section", { class: "card gauge", id: "abandon-gauge" }, h("h2", { text: "Abandon rate" }), abandonValue, abandonBar, abandonCaption),
      h("section", { class: "card gauge", id: "dial-gauge" }, h("h2", { text: "Dialing" }), dialValue, dialCaption)),
    h("div", { class: "grid main" },
      h("div", {},
        h("section", { class: "card" },
          h("h2", { text: "Dial level and occupancy" }),
          h("div", { class: "legend" },
            h("span", {}, h("i", { class: "k-level" }), "dial level (dials in flight per agent, left axis)"),
            h("span", {}, h("i", { class: "k-occ" }), "occupancy (right axis)"),
            h("span", {}, h("i", { class: "k-queue" }), "calls queued (left axis)")),
          chart),
        h("section", { class: "card" },
          h("h2", {}, "Live calls ", callCount),
          h("div", { class: "table-wrap" },
            h("table", { id: "calls" },
              h("thead", {}, h("tr", {},
                h("th", { class: "num", text: "Attempt" }), h("th", { text: "Callee" }),
                h("th", { text: "State" }), h("th", { class: "num", text: "Time in state" }))),
              callRows)))),
      h("div", {},
        pacingCard, speedCard,
        h("section", { class: "card" }, h("h2", { text: "Totals" }), totals),
        h("section", { class: "card" }, h("h2", { text: "Outcomes" }), outcomes))));
  showStrategyFields();

  async function control(action, el) {
    controlMessage.replaceChildren();
    const name = view ? view.name : "this campaign";
    if (action === "stop" && !confirm("Stop " + name + "? No new calls are placed; calls in progress end normally.")) return;
    if (action === "stop-now" && !confirm("Stop " + name + " now? The run ends at once, even with calls still up.")) return;
    el.disabled = true;
    const path = action === "stop-now" ? "stop?now=true" : action;
    try {
      view = await api("POST", "/api/campaigns/" + id + "/" + path);
      render();
    } catch (error) {
      controlMessage.replaceChildren(h("div", { class: "error-box", text: errorText(error) }));
    } finally {
      el.disabled = false;
      renderButtons();
    }
  }

  function engineNow() {
    if (!view || !view.status) return 0;
    const running = view.phase === "running" || view.phase === "stopping" || (view.phase === "paused" && view.kind === "live");
    if (!running || view.status.finished) return engineAt.us;
    const speed = view.kind === "playback" ? (view.speed || 1) : 1;
    return engineAt.us + (performance.now() - engineAt.local) * 1000 * speed;
  }

  function setView(next) {
    view = next;
    if (view.status) engineAt = { us: view.status.now_us, local: performance.now() };
  }

  function applyChanges(changes) {
    const now = performance.now();
    for (const change of changes) {
      if (change.seq <= seq) continue;
      seq = change.seq;
      let call = calls.get(change.attempt);
      if (!call) {
        call = { attempt: change.attempt, lead: change.lead, callee: change.callee, fresh: now };
        calls.set(change.attempt, call);
      }
      call.state = change.to;
      call.outcome = change.outcome;
      call.since_us = change.at_us;
      call.endedAt = change.to === "ended" ? now : null;
    }
    scheduleRender();
  }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => { renderQueued = false; render(); }, 150);
  }

  function renderButtons() {
    if (!view) return;
    const p = view.phase;
    const live = view.kind === "live";
    buttons.start.disabled = !(p === "created" || p === "interrupted");
    buttons.start.textContent = p === "interrupted" ? "Start again" : "Start";
    buttons.pause.disabled = p !== "running";
    buttons.resume.disabled = p !== "paused";
    buttons.stop.disabled = !(p === "running" || p === "paused" || p === "created" || p === "interrupted");
    buttons.stopNow.disabled = !(p === "running" || p === "paused" || p === "stopping");
    buttons.pause.textContent = live ? "Pause dialing" : "Pause";
    pacingCard.classList.toggle("hidden", !live);
    speedCard.classList.toggle("hidden", live);
    pacingButton.disabled = !(p === "created" || p === "interrupted" || p === "running" || p === "paused");
  }

  function dl(el, pairs) {
    el.replaceChildren(...pairs.flatMap(([k, v, key]) => [h("dt", { text: k }), h("dd", { text: v, "data-key": key })]));
  }

  function bar(el, segments, marks) {
    el.replaceChildren();
    for (const [cls, fraction] of segments) {
      const span = h("span", { class: cls });
      span.style.width = Math.max(0, Math.min(100, fraction * 100)) + "%";
      el.append(span);
    }
    for (const fraction of marks || []) {
      const mark = h("span", { class: "mark" });
      mark.style.left = "calc(" + Math.max(0, Math.min(100, fraction * 100)) + "% - 1px)";
      el.append(mark);
    }
  }

  function render() {
    if (!view || closed) return;
    title.textContent = view.name;
    phase.className = "badge phase-" + view.phase;
    phase.textContent = view.phase;
    subtitle.textContent = view.kind === "playback"
      ? "playback at " + view.speed + "×"
      : "pacing " + pacingText(view.pacing) + (view.pacing && view.pacing.queue_guard
        ? " · auto-pause at " + view.pacing.queue_guard.pause_at + " queued" : "");
    renderButtons();
    const s = view.status;
    const guard = view.pacing && view.pacing.queue_guard;

    // Banners.
    const guardPaused = s && s.queue_guard.paused && !s.finished;
    guardBanner.classList.toggle("hidden", !guardPaused);
    if (guardPaused) {
      const since = s.queue_guard.since_us != null ? duration(s.now_us - s.queue_guard.since_us) : "";
      guardBanner.replaceChildren(
        h("strong", { text: "Dialing paused automatically." }),
        h("span", { id: "guard-reason", text:
          (s.queue_guard.queued_at_pause != null ? s.queue_guard.queued_at_pause : s.queued) +
          " answered calls were waiting in the queue for an agent" +
          (guard ? " (pauses at " + guard.pause_at + ", resumes at " + guard.resume_at + ")" : "") +
          ". Now " + s.queued + " queued; paused for " + since + "." }));
    }
    const adminPaused = view.phase === "paused";
    const stopping = view.phase === "stopping";
    adminBanner.className = "banner " + (stopping ? "stopping" : "admin") + (adminPaused || stopping ? "" : " hidden");
    // A live campaign's pause is the console's until the engine's own numbers say it holds:
    // a dial already on its way may still be placed until then.
    const pauseHeld = adminPaused && (view.kind !== "live" || (s && s.admin_paused));
    adminBanner.dataset.engine = adminPaused ? (pauseHeld ? "paused" : "pausing") : "";
    if (adminPaused && !pauseHeld) {
      adminBanner.replaceChildren(h("strong", { text: "Pausing…" }),
        h("span", { text: "Waiting for the engine to confirm; until it does, a call may still be placed." }));
    } else if (adminPaused) {
      adminBanner.replaceChildren(h("strong", { text: "Paused by an admin." }),
        h("span", { text: view.kind === "live" ? "No new calls are placed; calls in progress go on. Resume to dial again." : "Playback is paused." }));
    } else if (stopping) {
      adminBanner.replaceChildren(h("strong", { text: "Stopping." }), h("span", { text: "No new calls; waiting for the calls in progress to end." }));
    } else if (s && s.switch_login_refused && !s.finished) {
      adminBanner.className = "banner stopping";
      adminBanner.replaceChildren(h("strong", { text: "PortaSwitch refused the dialer's login." }),
        h("span", { text: "No new calls are placed; calls in progress go on. Dialing resumes by itself once the login works again: check the password or API token in the campaign file." }));
    }
    const ended = view.phase === "finished" || view.phase === "failed";
    const interrupted = view.phase === "interrupted";
    endBanner.className = "banner " + (interrupted ? "interrupted" : view.phase === "failed" ? "error" : "done") + (ended || interrupted ? "" : " hidden");
    if (ended) {
      endBanner.replaceChildren(h("strong", { text: view.phase === "failed" ? "Failed." : "Finished." }),
        h("span", { text: view.error || (view.outcome ? "Ended: " + view.outcome.replace("_", " ") + "." : "The campaign has ended.") }));
    } else if (interrupted) {
      endBanner.replaceChildren(h("strong", { text: "Interrupted." }),
        h("span", { id: "interrupted-reason", text: view.error
          ? "The console stopped while this campaign ran, and it cannot start again: " + view.error
          : "The console stopped while this campaign ran. Nothing is dialed until an admin starts it again" +
            (view.durable
              ? "; it then resumes from its store, where each lead stood."
              : "; without a [store] section, it then dials its list again from the first lead.") +
            " Stop closes it as finished." }));
    }
    stateBanner.classList.toggle("hidden", !view.state_error);
    if (view.state_error) {
      stateBanner.replaceChildren(h("strong", { text: "Not saved." }),
        h("span", { text: view.state_error + ". This campaign's last change may be lost if the console restarts." }));
    }

    if (s) {
      const a = s.agents;
      agentsValue.replaceChildren(String(a.idle), h("small", { text: " idle of " + a.logged_in }));
      const n = Math.max(1, a.logged_in);
      bar(agentsBar, [["seg-on", a.on_calls / n], ["seg-wrap", a.wrap_up / n], ["seg-idle", a.idle / n]]);
      agentsCaption.textContent = a.on_calls + " on calls · " + a.wrap_up + " in wrap-up · occupancy " + pct(s.occupancy, 0);

      queueValue.replaceChildren(String(s.queued), h("small", { text: " waiting" }));
      const top = Math.max(guard ? guard.pause_at * 1.5 : 10, s.queued, 1);
      bar(queueBar, [[s.queue_guard.paused ? "fill-bad" : (guard && s.queued >= guard.resume_at + 1 ? "fill-warn" : "fill-ok"), s.queued / top]],
        guard ? [guard.pause_at / top] : []);
      queueCaption.textContent = (guard ? "auto-pause at " + guard.pause_at + " (mark), resume at " + guard.resume_at
        : view.kind === "playback" ? "queue guard as recorded" : "no queue guard") +
        " · most " + s.max_queued + " · " + s.pauses + " pauses";

      const cap = view.abandon_cap;
      const over = s.abandon_rate > cap;
      abandonValue.replaceChildren(pct(s.abandon_rate, 2), h("small", { text: " of cap " + pct(cap, 1) }));
      abandonValue.classList.toggle("over", over);
      const scale = Math.max(cap * 2, s.abandon_rate * 1.1, 0.001);
      bar(abandonBar, [[over ? "fill-bad" : s.abandon_rate > cap * 0.8 ? "fill-warn" : "fill-ok", s.abandon_rate / scale]], [cap / scale]);
      abandonCaption.textContent = s.abandoned + " of " + s.answered + " answered calls never reached an agent" + (over ? " · ABOVE THE CAP" : "");

      dialValue.replaceChildren(s.dial_level.toFixed(2), h("small", { text: " dial level" }));
      dialCaption.textContent = s.dials_in_flight + " dials in flight · " + s.attempts + " attempts · " + s.dialable_leads + " leads ready";

      dl(totals, [
        ["Attempts", s.attempts, "attempts"],
        ["Answered by a person (ended calls)", s.answered, "answered"],
        ["Connected to an agent", s.connected, "connected"],
        ["Never reached an agent", s.abandoned, "abandoned"],
        ["Engine time", clock(engineNow()), "engine-time"],
        ["Leads dialed / done", s.leads.dialed + " / " + s.leads.done, "leads"],
        ["Awaiting redial", s.leads.awaiting_redial, "redials"],
        ["Time auto-paused", duration(s.paused_seconds * 1e6), "paused"],
        ["Anomalies", s.anomalies, "anomalies"],
      ].concat(view.webhook ? [["Webhook callbacks", view.webhook.accepted + " accepted, " + view.webhook.unauthorized + " refused", "webhook"]] : [])
        .concat(view.switch ? [["PortaSwitch requests", view.switch.requests + " (" + view.switch.faults + " faults)", "switch"]] : []));
      dl(outcomes, Object.entries(s.outcomes).map(([k, v]) => [k.replace(/_/g, " "), v, "outcome-" + k]));
    }
    renderCalls();
    renderChart();
  }

  const rowsByAttempt = new Map();
  function renderCalls() {
    const now = performance.now();
    const nowUs = engineNow();
    for (const [attempt, call] of calls) {
      if (call.endedAt !== null && call.endedAt !== undefined && now - call.endedAt > ENDED_LINGER_MS) {
        calls.delete(attempt);
      }
    }
    const ordered = [...calls.values()].sort((x, y) => y.attempt - x.attempt).slice(0, 300);
    const keep = new Set(ordered.map((c) => c.attempt));
    for (const [attempt, row] of rowsByAttempt) {
      if (!keep.has(attempt)) { row.tr.remove(); rowsByAttempt.delete(attempt); }
    }
    let previous = null;
    for (const call of ordered) {
      let row = rowsByAttempt.get(call.attempt);
      if (!row) {
        const state = h("span", { class: "badge state" });
        const time = h("td", { class: "num time-in-state" });
        const tr = h("tr", { "data-attempt": String(call.attempt) },
          h("td", { class: "num", text: String(call.attempt) }),
          h("td", { class: "mono", text: call.callee }),
          h("td", {}, state), time);
        row = { tr, state, time };
        rowsByAttempt.set(call.attempt, row);
      }
      const label = call.state === "ended" ? (call.outcome || "ended").replace(/_/g, " ") : call.state;
      row.state.className = "badge state state-" + call.state;
      row.state.textContent = label;
      row.tr.dataset.state = call.state;
      row.tr.className = call.state === "ended" ? "ended" : now - call.fresh < 1200 ? "fresh" : "";
      row.time.textContent = call.state === "ended" ? "" : duration(nowUs - call.since_us);
      const anchor = previous ? previous.nextSibling : callRows.firstChild;
      if (row.tr !== anchor) callRows.insertBefore(row.tr, anchor);
      previous = row.tr;
    }
    const live = ordered.filter((c) => c.state !== "ended").length;
    callCount.textContent = "(" + live + " live)";
    if (!ordered.length && !callRows.querySelector(".empty")) {
      callRows.replaceChildren(h("tr", { class: "empty-row" }, h("td", { colspan: "4", class: "empty", text: "No calls in progress." })));
    } else if (ordered.length) {
      const empty = callRows.querySelector(".empty-row");
      if (empty) empty.remove();
    }
  }

  function renderChart() {
    const W = 800, H = 240, L = 44, R = 48, T = 12, B = 28;
    const points = history.filter((p) => p.t_us >= (history.length ? history[history.length - 1].t_us : 0) - CHART_WINDOW_US);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "dial level and occupancy over time" });
    if (points.length < 2) {
      root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }));
      root.lastChild.textContent = "The chart fills in as the campaign runs.";
      chart.replaceChildren(root);
      return;
    }
    const t0 = points[0].t_us, t1 = Math.max(points[points.length - 1].t_us, t0 + 1);
    const maxLeft = Math.max(1, ...points.map((p) => Math.max(p.dial_level, p.queued)));
    // A top whose quarters are round numbers.
    const tops = [1, 2, 4, 6, 8, 12, 16, 20, 40, 60, 80, 100, 200, 400, 1000];
    const top = tops.find((t) => t >= maxLeft * 1.05) || Math.ceil(maxLeft / 100) * 100;
    const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
    const yl = (v) => H - B - (H - B - T) * v / top;
    const yr = (v) => H - B - (H - B - T) * v;
    for (let i = 0; i <= 4; i++) {
      const v = top * i / 4, y = yl(v);
      root.append(svg("line", { class: "grid-line", x1: L, x2: W - R, y1: y, y2: y }));
      const label = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" });
      label.textContent = Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)));
      root.append(label);
      const right = svg("text", { x: W - R + 6, y: yr(i / 4) + 4 });
      right.textContent = (25 * i) + "%";
      root.append(right);
    }
    root.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      const label = svg("text", { x: x(t), y: H - 8, "text-anchor": "middle" });
      label.textContent = clock(t);
      root.append(label);
    }
    const path = (f, y) => points.map((p, i) => (i ? "L" : "M") + x(p.t_us).toFixed(1) + " " + y(f(p)).toFixed(1)).join(" ");
    root.append(svg("path", { class: "line-queue", d: path((p) => p.queued, yl) }));
    root.append(svg("path", { class: "line-occ", d: path((p) => p.occupancy, yr) }));
    root.append(svg("path", { class: "line-level", d: path((p) => p.dial_level, yl) }));
    chart.replaceChildren(root);
  }

  function connect() {
    if (closed) return;
    source = new EventSource("/api/campaigns/" + id + "/events");
    source.addEventListener("open", () => setConnection("live"));
    source.addEventListener("error", () => setConnection("down"));
    source.addEventListener("snapshot", (event) => {
      const data = JSON.parse(event.data);
      setView(data.campaign);
      calls.clear();
      const now = performance.now();
      for (const call of data.calls) {
        calls.set(call.attempt, Object.assign({}, call, { fresh: 0, endedAt: null }));
      }
      seq = data.campaign.status ? data.campaign.status.seq : 0;
      history = data.history || [];
      if (view.pacing) {
        strategySelect.value = view.pacing.strategy;
        if (view.pacing.ratio) ratioInput.value = view.pacing.ratio;
        if (view.pacing.per_minute) rateInput.value = view.pacing.per_minute;
        showStrategyFields();
      }
      if (view.speed) speedSelect.value = String(view.speed);
      void now;
      render();
    });
    source.addEventListener("calls", (event) => applyChanges(JSON.parse(event.data)));
    source.addEventListener("campaign", (event) => {
      const data = JSON.parse(event.data);
      setView(data.campaign);
      const sample = data.sample;
      if (sample && (!history.length || history[history.length - 1].t_us < sample.t_us)) {
        history.push(sample);
        if (history.length > 3600) history.shift();
      }
      scheduleRender();
    });
  }
  connect();
  const ticker = setInterval(() => { renderCalls(); if (view && view.status && view.status.queue_guard.paused) render(); }, 500);
  return () => {
    closed = true;
    clearInterval(ticker);
    if (source) source.close();
    setConnection("");
  };
}

// ---------- routing ----------

function route() {
  if (page) page();
  page = null;
  const app = document.getElementById("app");
  const match = location.hash.match(/^#\/campaigns\/(\d+)/);
  page = match ? campaignPage(app, Number(match[1])) : listPage(app);
}

async function boot() {
  try {
    const session = await api("GET", "/api/session");
    csrf = session.csrf;
    demo = session.demo;
    kept = session.kept;
  } catch (_) {
    return;
  }
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/logout"); } catch (_) { /* redirected below */ }
    location.href = "/login";
  });
  window.addEventListener("hashchange", route);
  route();
}

document.addEventListener("DOMContentLoaded", boot);
