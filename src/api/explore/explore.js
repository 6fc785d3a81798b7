// The explorer page: the caller, runs, shared links and what the service says when it
// refuses. The form lives in form.js, rendering in render.js, charts in charts.js, calls in
// api.js.

import { call, forgetCaller, loadCaller, problemFields, retryAfter, saveCaller, seedOf, simulateBody } from "./api.js";
import {
  FIELDS,
  MATCH_FIELDS,
  clearFieldErrors,
  fillFromLink,
  fillMatch,
  linkTo,
  markFields,
  matchingEntry,
  readForm,
  typedMatch,
} from "./form.js";
import { pct, wait, when } from "./format.js";
import { clearMessage, drawCharts, el, renderAccount, renderResult, showMessage } from "./render.js";

const $ = (id) => document.getElementById(id);
const page = {
  message: $("message"),
  status: $("status"),
  intro: $("intro"),
  results: $("results"),
  run: $("run"),
  select: $("event-select"),
  note: $("event-note"),
  callerValue: $("caller-value"),
  shareLink: $("share-link"),
};
const RUN_LABEL = "Run simulation";

const state = { caller: loadCaller(), catalogue: [], balance: null, rateLimit: null, result: null, timer: null };

const announce = (text) => {
  page.status.textContent = text;
};

/** Scrolls `element` into view unless it is already on screen (the form and the results
 * sit side by side on a wide screen, one under the other on a phone). */
function reveal(element) {
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > innerHeight - 80) {
    const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
    element.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
  }
}

/** Counts finished runs and link openings on `<body data-settled>`, for scripted checks. */
const settled = () => {
  document.body.dataset.settled = String(Number(document.body.dataset.settled ?? 0) + 1);
};

// ---- the caller ----------------------------------------------------------------------

function callerMode() {
  return document.querySelector('input[name="caller-mode"]:checked').value;
}

function showCallerMode() {
  const key = callerMode() === "api_key";
  $("caller-label").textContent = key ? "API key" : "Actor id";
  $("caller-hint").replaceChildren(
    "Sent as ",
    el("code", {}, key ? "Authorization: Bearer" : "X-Actor-ID"),
    ". Kept in this browser only.",
  );
  page.callerValue.type = key ? "password" : "text";
}

/** Keeps the caller the form shows (in this browser) and shows their account. */
function keepCaller() {
  const value = page.callerValue.value.trim();
  const caller = value ? { mode: callerMode(), value } : null;
  if (caller?.mode === state.caller?.mode && caller?.value === state.caller?.value) return;
  state.caller = caller;
  if (caller) saveCaller(caller);
  else forgetCaller();
  refreshAccount();
}

// ---- the match form ------------------------------------------------------------------

const entryOf = (id) => state.catalogue.find((e) => e.event_id === id);

/** The select follows the fields: the catalogue entry they hold, or "your own match". */
function followFields() {
  page.select.value = matchingEntry(state.catalogue, typedMatch())?.event_id ?? "";
  showNote();
}

function showNote() {
  const entry = entryOf(page.select.value);
  page.note.textContent = entry ? `${entry.competition}: ${entry.note}` : "Any two names, ratings from 0 to 3000.";
}

// ---- results -------------------------------------------------------------------------

function show(answer, how) {
  const result = answer.data;
  const seed = seedOf(answer);
  state.result = result;
  page.intro.hidden = true;
  page.results.hidden = false;
  renderResult(page.results, result, seed);
  drawCharts(page.results, result);
  const origin = $("origin");
  const shared = how === "shared";
  origin.className = `origin ${result.meta.cache_hit ? "free" : "paid"}`;
  origin.textContent = shared
    ? "Opened from a link: the stored result, no token spent."
    : result.meta.cache_hit
      ? "From the cache: this exact simulation was run before, so it cost nothing."
      : `Computed now: ${result.meta.cost_tokens} token${result.meta.cost_tokens === 1 ? "" : "s"} spent.`;
  const link = linkTo(result, seed);
  page.shareLink.value = link;
  history.replaceState(null, "", link);
  reveal(page.results);
  const p = result.probabilities;
  announce(
    `Result: ${result.event.home_team} win ${pct(p.home)}, draw ${pct(p.draw)}, ` +
      `${result.event.away_team} win ${pct(p.away)}. Uncertainty ${result.risk.band}.`,
  );
}

// ---- when the service says no --------------------------------------------------------

/** Holds the run button for `seconds`, counting down in `counter`. */
function holdRuns(seconds, counter) {
  clearInterval(state.timer);
  let left = Math.ceil(seconds);
  const tick = () => {
    if (left <= 0) {
      clearInterval(state.timer);
      page.run.disabled = false;
      page.run.textContent = RUN_LABEL;
      counter.textContent = "now";
      announce("You can run a simulation again.");
      return;
    }
    counter.textContent = wait(left);
    page.run.textContent = `Wait ${left} s`;
    left -= 1;
  };
  page.run.disabled = true;
  tick();
  state.timer = setInterval(tick, 1000);
}

async function explain(answer) {
  const focused = document.activeElement;
  await describe(answer);
  announce("");
  // A refusal that names a field has moved the focus (and the view) there.
  if (document.activeElement === focused) reveal(page.message);
}

/** The message for a refusal, with what can be done about it. */
async function describe(answer) {
  const problem = answer.problem;
  const detail = problem.detail ?? "";
  if (answer.status === 400 || (answer.status === 404 && problemFields(problem).paths.length)) {
    const input = markFields(problem);
    showMessage(page.message, {
      tone: "error",
      title: input ? "Check the highlighted field" : problem.title,
      lines: [detail],
      problem,
    });
    input?.focus();
  } else if (answer.status === 401) {
    showMessage(page.message, {
      tone: "error",
      title: "Who is calling?",
      lines: [detail, "Enter your actor id or API key under “Who is calling”, then run again."],
      problem,
    });
    page.callerValue.focus();
  } else if (answer.status === 402) {
    await refreshAccount();
    const next = state.balance?.next_allowance_at;
    const lines = [detail];
    if (next) {
      const seconds = (Date.parse(next) - Date.now()) / 1000;
      lines.push(
        el(
          "span",
          {},
          "More tokens arrive at ",
          el("time", { datetime: next, id: "next-allowance" }, when(next)),
          ` (in ${wait(seconds)}), when your balance is topped up to ${state.balance.daily_allowance}.`,
        ),
      );
    }
    lines.push("Until then, results computed before are free: repeat a run with the same seed, or open a shared link.");
    showMessage(page.message, { tone: "warning", title: "Today's tokens are spent", lines, problem });
  } else if (retryAfter(answer)) {
    const counter = el("strong", { "aria-live": "off", id: "countdown" });
    const title = answer.status === 429 ? "Too many requests for now" : "The service is busy";
    showMessage(page.message, {
      tone: "warning",
      title,
      lines: [detail, el("span", {}, "You can try again in ", counter, ".")],
      problem,
    });
    holdRuns(retryAfter(answer), counter);
  } else {
    showMessage(page.message, { tone: "error", title: problem.title ?? "Something went wrong", lines: [detail], problem });
  }
}

// ---- actions -------------------------------------------------------------------------

function busy(on) {
  page.results.setAttribute("aria-busy", String(on));
  page.run.disabled = on;
  page.run.textContent = on ? "Running…" : RUN_LABEL;
}

async function refreshAccount() {
  if (!state.caller) {
    renderAccount(document, { signedOut: true, rateLimit: state.rateLimit });
    return;
  }
  const answer = await call("GET", "/api/balance", { caller: state.caller });
  state.rateLimit = answer.rateLimit ?? state.rateLimit;
  state.balance = answer.ok ? answer.data : state.balance;
  renderAccount(document, { balance: state.balance, rateLimit: state.rateLimit, signedOut: answer.status === 401 });
}

/** Runs the simulation in the form; `expected` is the fingerprint a link promised, if any. */
async function run(expected) {
  clearInterval(state.timer);
  state.timer = null;
  clearFieldErrors();
  clearMessage(page.message);
  busy(true);
  announce("Running the simulation…");
  const answer = await call("POST", "/api/simulate", { caller: state.caller, body: simulateBody(readForm(state.catalogue)) });
  state.rateLimit = answer.rateLimit ?? state.rateLimit;
  busy(false);
  if (answer.ok) {
    show(answer, "run");
    if (typeof expected === "string") explainRecomputed(expected, answer.data.meta);
  } else {
    await explain(answer);
  }
  if (answer.status !== 402) await refreshAccount();
  settled();
}

/** After computing a link's result again: whether it is the result the link named. */
function explainRecomputed(expected, meta) {
  const same = meta.fingerprint === expected;
  showMessage(page.message, {
    tone: "info",
    title: same ? "Computed again: the same result" : "Computed again, with a different fingerprint",
    lines: [
      same
        ? "Same inputs, same seed, same model: these are exactly the numbers of the link."
        : `The link named ${expected.slice(0, 12)}…; its inputs and seed now give ${meta.fingerprint.slice(0, 12)}… ` +
          `under the model ${meta.model_version}. The model has usually changed since the link was made, so these numbers may differ from the ones that were shared.`,
    ],
  });
}

/** Opens the result a link names (`#fp=…`), or offers to compute it again. */
async function openLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fp = params.get("fp");
  if (!fp || fp === state.result?.meta.fingerprint) return;
  const inputs = fillFromLink(params);
  if (inputs) followFields();
  clearFieldErrors();
  clearMessage(page.message);
  busy(true);
  const answer = await call("GET", `/api/simulations/${encodeURIComponent(fp)}`, { caller: state.caller });
  state.rateLimit = answer.rateLimit ?? state.rateLimit;
  busy(false);
  if (answer.ok) {
    show(answer, "shared");
  } else if (answer.status === 404) {
    showMessage(page.message, {
      tone: "info",
      title: "This result is no longer stored",
      lines: inputs
        ? [
            "Results are kept for a limited time after they are computed. The link holds the match, the iterations and the seed, so computing it again gives exactly the same numbers; it is charged like any new simulation.",
          ]
        : ["The link does not say which match it was, so it cannot be computed again."],
      problem: answer.problem,
      action: inputs ? { label: "Compute it again", run: () => run(fp) } : undefined,
    });
    reveal(page.message);
  } else {
    await explain(answer);
  }
  await refreshAccount();
  settled();
}

async function loadCatalogue() {
  const answer = await call("GET", "/api/events", { caller: state.caller });
  state.rateLimit = answer.rateLimit ?? state.rateLimit;
  if (!answer.ok) {
    await explain(answer);
    return;
  }
  state.catalogue = answer.data.events;
  page.select.append(
    ...state.catalogue.map((e) =>
      el("option", { value: e.event_id }, `${e.home_team} v ${e.away_team} (${e.competition})`),
    ),
  );
}

// ---- wiring --------------------------------------------------------------------------

function wire() {
  for (const radio of document.querySelectorAll('input[name="caller-mode"]')) {
    radio.addEventListener("change", () => {
      showCallerMode();
      if (page.callerValue.value.trim()) keepCaller();
    });
  }
  page.callerValue.addEventListener("change", keepCaller);
  $("caller-form").addEventListener("submit", (event) => {
    event.preventDefault();
    keepCaller();
    announce(state.caller ? "Saved in this browser." : "Forgotten.");
  });
  $("caller-forget").addEventListener("click", () => {
    page.callerValue.value = "";
    keepCaller();
    announce("Forgotten: nothing about you is kept in this browser.");
  });
  page.select.addEventListener("change", () => {
    const entry = entryOf(page.select.value);
    if (entry) fillMatch(entry);
    showNote();
  });
  for (const name of MATCH_FIELDS) FIELDS[name].addEventListener("input", followFields);
  $("sim-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!page.run.disabled) run();
  });
  $("share-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(page.shareLink.value);
      announce("Link copied.");
    } catch {
      page.shareLink.select();
      announce("The link is selected: copy it with your keyboard or menu.");
    }
  });
  window.addEventListener("hashchange", openLink);
  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => state.result && !page.results.hidden && drawCharts(page.results, state.result));
  }).observe(page.results);
}

async function start() {
  if (state.caller) {
    $(state.caller.mode === "api_key" ? "caller-mode-key" : "caller-mode-actor").checked = true;
    page.callerValue.value = state.caller.value;
  }
  showCallerMode();
  wire();
  await loadCatalogue();
  if (location.hash.includes("fp=")) {
    await openLink();
  } else {
    if (state.catalogue.length) {
      page.select.value = state.catalogue[0].event_id;
      fillMatch(state.catalogue[0]);
    }
    showNote();
    await refreshAccount();
  }
  document.body.dataset.ready = "true";
}

start();
