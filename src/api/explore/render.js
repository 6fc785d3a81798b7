// Putting a result, the account and messages on the page. Text only ever goes in through
// textContent (team names are the user's own words), never as markup.

import { drawGauge, drawHistogram, drawProbabilities, drawScenarios } from "./charts.js";
import { count, fixed3, pct, rating, score, wait, when } from "./format.js";

/** An HTML element with attributes and children (elements or text). */
export function el(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const OUTCOMES = ["home", "draw", "away"];
const SHORT = { home: "Home win", draw: "Draw", away: "Away win" };

function outcomeLabel(event, outcome) {
  if (outcome === "draw") return "Draw";
  return `${outcome === "home" ? event.home_team : event.away_team} win`;
}

/** Writes `text` into every element marked `data-k="key"`. */
function put(root, key, text) {
  for (const element of root.querySelectorAll(`[data-k="${key}"]`)) element.textContent = text;
}

/** A table cell showing one number of the result, marked with its place in the JSON. */
const cell = (key, text) => el("td", { "data-k": key }, text);

/** An outcome's name after its colour dot. */
const outcome = (o, text) => el("span", { class: `outcome ${o}` }, text);

function favouriteText(risk, event) {
  if (risk.favourite === "home") return `${event.home_team} (home)`;
  if (risk.favourite === "away") return `${event.away_team} (away)`;
  return "No favourite";
}

/** Fills the result section with `result` (whose seed, exact, is `seed`). */
export function renderResult(root, result, seed) {
  const { event, risk, expected_score: stats } = result;
  put(root, "event.home_team", event.home_team);
  put(root, "event.away_team", event.away_team);
  put(root, "event.home_rating", rating(event.home_rating));
  put(root, "event.away_rating", rating(event.away_rating));
  put(root, "event.home_advantage", rating(event.home_advantage));
  put(root, "iterations", count(result.iterations));
  put(root, "seed", seed);

  root.querySelector("#prob-table tbody").replaceChildren(
    ...OUTCOMES.map((o) => {
      const interval = result.intervals_95[o];
      return el(
        "tr",
        {},
        el("th", { scope: "row" }, outcome(o, outcomeLabel(event, o))),
        el(
          "td",
          {},
          el("span", { "data-k": `probabilities.${o}` }, pct(result.probabilities[o])),
          el(
            "span",
            { class: "interval" },
            el("span", { "data-k": `intervals_95.${o}.lower` }, pct(interval.lower)),
            " to ",
            el("span", { "data-k": `intervals_95.${o}.upper` }, pct(interval.upper)),
          ),
        ),
        cell(`analytic.${o}`, pct(result.analytic[o])),
      );
    }),
  );

  put(root, "risk.score", score(risk.score));
  put(root, "risk.band", risk.band);
  root.querySelector("#risk-band").className = `band ${risk.band}`;
  put(root, "risk.favourite", favouriteText(risk, event));
  put(root, "risk.upset_probability", pct(risk.upset_probability));
  put(root, "risk.rationale", risk.rationale);

  renderScenarioTable(root, result);

  for (const q of ["p5", "p25", "p50", "p75", "p95"]) {
    put(root, `expected_score.quantiles.${q}`, fixed3(stats.quantiles[q]));
  }
  for (const s of ["mean", "stdev", "skew", "kurtosis", "elo"]) {
    put(root, `expected_score.${s}`, fixed3(stats[s]));
  }
  const { edges, counts } = stats.histogram;
  root.querySelector("#hist-table tbody").replaceChildren(
    ...counts.map((n, i) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, `${edges[i].toFixed(2)} – ${edges[i + 1].toFixed(2)}`),
        cell(`expected_score.histogram.counts.${i}`, String(n)),
      ),
    ),
  );

  put(root, "explanation.summary", result.explanation.summary);
  root.querySelector("#explain-outcomes").replaceChildren(
    ...result.explanation.scenarios.map((note, i) =>
      el("li", { "data-k": `explanation.scenarios.${i}.description` }, note.description),
    ),
  );
  root.querySelector("#explain-caveats").replaceChildren(
    ...result.explanation.caveats.map((text, i) => el("li", { "data-k": `explanation.caveats.${i}` }, text)),
  );

  put(root, "meta.fingerprint", result.meta.fingerprint);
  put(root, "meta.model_version", result.meta.model_version);
  put(root, "meta.request_id", result.meta.request_id);
  const { meta } = result;
  root.querySelector("#meta-served").textContent = meta.cache_hit
    ? "from the cache, free"
    : `computed for this request: ${meta.cost_tokens} token${meta.cost_tokens === 1 ? "" : "s"}, engine ${meta.engine_ms} ms`;
}

/** Rows are the scenarios, columns the outcomes: narrow enough for a phone. */
function renderScenarioTable(root, result) {
  const { scenarios } = result;
  const title = (name) => name[0].toUpperCase() + name.slice(1);
  root.querySelector("#scen-table thead").replaceChildren(
    el(
      "tr",
      {},
      el("th", { scope: "col" }, "Scenario"),
      ...OUTCOMES.map((o) => el("th", { scope: "col" }, SHORT[o])),
    ),
  );
  root.querySelector("#scen-table tbody").replaceChildren(
    ...scenarios.map((s, i) =>
      el(
        "tr",
        {},
        el(
          "th",
          { scope: "row" },
          el("span", { "data-k": `scenarios.${i}.name` }, title(s.name)),
          el("span", { class: "multipliers" }, `scale ×${s.scale_multiplier}, variance ×${s.variance_multiplier}`),
        ),
        ...OUTCOMES.map((o) => cell(`scenarios.${i}.probabilities.${o}`, pct(s.probabilities[o]))),
      ),
    ),
  );
}

/** Draws (or redraws, after a resize) the charts of `result`. */
export function drawCharts(root, result) {
  drawProbabilities(
    root.querySelector("#prob-chart"),
    OUTCOMES.map((o) => ({
      outcome: o,
      label: outcomeLabel(result.event, o),
      value: result.probabilities[o],
      lower: result.intervals_95[o].lower,
      upper: result.intervals_95[o].upper,
      exact: result.analytic[o],
    })),
  );
  drawGauge(root.querySelector("#risk-chart"), result.risk.score);
  drawScenarios(root.querySelector("#scen-chart"), result.scenarios);
  drawHistogram(root.querySelector("#hist-chart"), result.expected_score);
}

/** The account panel: balance, allowance and the latest rate-limit state. */
export function renderAccount(doc, { balance, rateLimit, signedOut }) {
  const balanceText = doc.getElementById("balance-text");
  const allowanceText = doc.getElementById("allowance-text");
  if (signedOut) {
    balanceText.textContent = "enter who you are above";
    allowanceText.textContent = "–";
  } else if (balance) {
    balanceText.replaceChildren(
      el("span", { "data-k": "balance.balance" }, String(balance.balance)),
      balance.balance === 1 ? " token" : " tokens",
    );
    allowanceText.replaceChildren(
      `topped up to ${balance.daily_allowance} on `,
      el("time", { datetime: balance.next_allowance_at }, when(balance.next_allowance_at)),
    );
  }
  if (rateLimit && rateLimit.remaining !== null) {
    // r: requests left now; q per w seconds: the sustained quota; t: seconds until the next
    // request is available again (0 while the bucket is full).
    const { remaining, quota, window, reset } = rateLimit;
    const per = window === 60 ? "a minute" : `every ${wait(window)}`;
    const refill = quota !== null && window !== null ? ` (${quota} more ${per})` : "";
    const now = remaining === 0 && reset ? `none for ${wait(reset)}` : String(remaining);
    doc.getElementById("ratelimit-text").textContent = `${now}${refill}`;
  }
}

/**
 * A message above the results. `tone`: "error", "warning" or "info"; `lines`: paragraphs
 * (text or elements); `problem`: the RFC 9457 body, whose code and request id are shown;
 * `action`: an optional `{label, run}` button.
 */
export function showMessage(box, { tone, title, lines = [], problem, action }) {
  const children = [el("p", { class: "message-title" }, title), ...lines.map((line) => el("p", {}, line))];
  if (problem?.code || problem?.request_id) {
    // The problem's type is a page of this service that explains it (GET /problems/{slug}).
    const parts = [
      problem.type?.startsWith("/problems/") ? [el("a", { href: problem.type }, "what this means")] : null,
      problem.code ? ["code ", el("code", {}, problem.code)] : null,
      problem.request_id ? ["request ", el("code", {}, problem.request_id)] : null,
    ].filter(Boolean);
    const facts = parts.flatMap((part, i) => (i ? [" · ", ...part] : part));
    children.push(el("p", { class: "message-meta" }, ...facts));
  }
  if (action) {
    const button = el("button", { type: "button", class: "primary", id: "message-action" }, action.label);
    button.addEventListener("click", action.run);
    children.push(el("p", {}, button));
  }
  box.className = `message ${tone}`;
  box.replaceChildren(el("div", { "data-tone": tone }, ...children));
}

export function clearMessage(box) {
  box.className = "message";
  box.replaceChildren();
}
