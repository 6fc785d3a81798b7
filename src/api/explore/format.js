// How the page writes numbers and times. The browser check formats the API's numbers with
// the same rules (scripts/explorer-check.py) and compares them with what the page shows.

/** A probability as a percentage with one decimal: 0.5853 → "58.5%". */
export const pct = (x) => `${(x * 100).toFixed(1)}%`;

/** A statistic of the expected score, three decimals. */
export const fixed3 = (x) => x.toFixed(3);

/** The uncertainty score, one decimal. */
export const score = (x) => x.toFixed(1);

/** A count with thousands separators: 10000 → "10,000". */
export const count = (n) => n.toLocaleString("en-US");

/** A rating as JSON would write it, without a trailing ".0". */
export const rating = (x) => String(x);

/** A moment in the reader's own time zone and locale, e.g. "Mon, Nov 30, 01:00". */
export function when(iso) {
  return new Date(iso).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
}

/** A wait in words: 3 h 5 min, 4 min, 90 s. */
export function wait(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
