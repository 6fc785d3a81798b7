// The match form: what it holds, the catalogue entry it matches, the fields a refusal
// names, and the shared link, which carries the form's inputs:
//
//   /explore#fp=<fingerprint>&home=…&away=…&hr=…&ar=…&ha=…&it=…&seed=…
//
// The fingerprint reopens the stored result for free (GET /api/simulations/{fingerprint});
// the inputs and the seed compute exactly the same numbers again once it has expired.

import { problemFields } from "./api.js";
import { rating } from "./format.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);

export const FIELDS = {
  home_team: $("home-team"),
  away_team: $("away-team"),
  home_rating: $("home-rating"),
  away_rating: $("away-rating"),
  home_advantage: $("home-advantage"),
  iterations: $("iterations"),
  seed: $("seed"),
};
export const MATCH_FIELDS = ["home_team", "away_team", "home_rating", "away_rating", "home_advantage"];

/** Which input a field named in a problem's `detail` belongs to. */
const INPUT_OF = {
  event_id: $("event-select"),
  event: FIELDS.home_team,
  iterations: FIELDS.iterations,
  seed: FIELDS.seed,
};
for (const name of MATCH_FIELDS) INPUT_OF[`event.${name}`] = FIELDS[name];

export function fillMatch(match) {
  FIELDS.home_team.value = match.home_team;
  FIELDS.away_team.value = match.away_team;
  FIELDS.home_rating.value = rating(match.home_rating);
  FIELDS.away_rating.value = rating(match.away_rating);
  FIELDS.home_advantage.value = rating(match.home_advantage);
}

export function typedMatch() {
  const number = (input) => (input.value === "" ? undefined : Number(input.value));
  return {
    home_team: FIELDS.home_team.value,
    away_team: FIELDS.away_team.value,
    home_rating: number(FIELDS.home_rating),
    away_rating: number(FIELDS.away_rating),
    home_advantage: number(FIELDS.home_advantage),
  };
}

/** The catalogue entry `match` is, field for field (an empty home advantage is 100). */
export function matchingEntry(catalogue, match) {
  return catalogue.find(
    (e) =>
      e.home_team === match.home_team.trim() &&
      e.away_team === match.away_team.trim() &&
      e.home_rating === match.home_rating &&
      e.away_rating === match.away_rating &&
      e.home_advantage === (match.home_advantage ?? 100),
  );
}

/** The simulation the form asks for; a catalogue match goes by its id. */
export function readForm(catalogue) {
  const event = typedMatch();
  const iterations = FIELDS.iterations.value === "" ? undefined : Number(FIELDS.iterations.value);
  return {
    eventId: matchingEntry(catalogue, event)?.event_id,
    event,
    iterations,
    seed: FIELDS.seed.value.trim(),
  };
}

export function clearFieldErrors() {
  for (const input of document.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute("aria-invalid");
    $(`${input.id}-error`)?.remove();
    const described = (input.getAttribute("aria-describedby") ?? "").replace(`${input.id}-error`, "").trim();
    if (described) input.setAttribute("aria-describedby", described);
    else input.removeAttribute("aria-describedby");
  }
}

/** Marks the inputs a problem names, each with the problem's words; returns the first. */
export function markFields(problem) {
  const { paths, message } = problemFields(problem);
  const inputs = paths.map((p) => INPUT_OF[p]).filter(Boolean);
  for (const input of inputs) {
    if (input.getAttribute("aria-invalid") === "true") continue;
    input.setAttribute("aria-invalid", "true");
    const error = el("p", { class: "field-error", id: `${input.id}-error` }, message);
    input.after(error);
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${described} ${error.id}` : error.id);
  }
  return inputs[0] ?? null;
}

/** The link to `result`, whose seed, exact, is `seed`. */
export function linkTo(result, seed) {
  const e = result.event;
  const params = new URLSearchParams({
    fp: result.meta.fingerprint,
    home: e.home_team,
    away: e.away_team,
    hr: rating(e.home_rating),
    ar: rating(e.away_rating),
    ha: rating(e.home_advantage),
    it: String(result.iterations),
    seed,
  });
  return `${location.origin}/explore#${params}`;
}

/** Fills the form from a link's parameters; false when the link lacks the inputs. */
export function fillFromLink(params) {
  if (!["home", "away", "hr", "ar", "it", "seed"].every((k) => params.get(k))) return false;
  fillMatch({
    home_team: params.get("home"),
    away_team: params.get("away"),
    home_rating: params.get("hr"),
    away_rating: params.get("ar"),
    home_advantage: params.get("ha") ?? "100",
  });
  FIELDS.iterations.value = params.get("it");
  FIELDS.seed.value = params.get("seed");
  return true;
}
