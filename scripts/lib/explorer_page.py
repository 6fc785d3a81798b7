"""What scripts/explorer-check.py knows about the explorer page: the text the page must show
for a result (the API's numbers written with the page's own rules, src/api/explore/format.js),
and audits run inside the page (contrast, names of controls, overflow at a phone's width).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

OUTCOMES = ("home", "draw", "away")


def to_fixed(x: float, digits: int) -> str:
    """JavaScript's Number.prototype.toFixed: the exact value of the double, half away from zero."""
    if x == 0:
        x = 0.0  # toFixed writes -0 as "0.000"
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(x).quantize(quantum, rounding=ROUND_HALF_UP))


def pct(x: float) -> str:
    return f"{to_fixed(x * 100, 1)}%"


def js_number(x: float) -> str:
    """JavaScript's String(number) for the ratings: 2100.0 → "2100", 2100.5 → "2100.5"."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def expected_text(result: dict) -> dict[str, str]:
    """Every `data-k` text the page shows for `result` (a body of POST /api/simulate)."""
    event, risk, stats = result["event"], result["risk"], result["expected_score"]
    shown = {
        "event.home_team": event["home_team"],
        "event.away_team": event["away_team"],
        "event.home_rating": js_number(event["home_rating"]),
        "event.away_rating": js_number(event["away_rating"]),
        "event.home_advantage": js_number(event["home_advantage"]),
        "iterations": f"{result['iterations']:,}",
        "seed": str(result["seed"]),
        "risk.score": to_fixed(risk["score"], 1),
        "risk.band": risk["band"],
        "risk.favourite": {
            "home": f"{event['home_team']} (home)",
            "away": f"{event['away_team']} (away)",
        }.get(risk["favourite"], "No favourite"),
        "risk.upset_probability": pct(risk["upset_probability"]),
        "risk.rationale": risk["rationale"],
        "explanation.summary": result["explanation"]["summary"],
        "meta.fingerprint": result["meta"]["fingerprint"],
        "meta.model_version": result["meta"]["model_version"],
    }
    for o in OUTCOMES:
        shown[f"probabilities.{o}"] = pct(result["probabilities"][o])
        shown[f"analytic.{o}"] = pct(result["analytic"][o])
        for end in ("lower", "upper"):
            shown[f"intervals_95.{o}.{end}"] = pct(result["intervals_95"][o][end])
    for i, scenario in enumerate(result["scenarios"]):
        shown[f"scenarios.{i}.name"] = scenario["name"].capitalize()
        for o in OUTCOMES:
            shown[f"scenarios.{i}.probabilities.{o}"] = pct(scenario["probabilities"][o])
    for name, value in stats["quantiles"].items():
        shown[f"expected_score.quantiles.{name}"] = to_fixed(value, 3)
    for name in ("mean", "stdev", "skew", "kurtosis", "elo"):
        shown[f"expected_score.{name}"] = to_fixed(stats[name], 3)
    for i, n in enumerate(stats["histogram"]["counts"]):
        shown[f"expected_score.histogram.counts.{i}"] = str(n)
    for i, note in enumerate(result["explanation"]["scenarios"]):
        shown[f"explanation.scenarios.{i}.description"] = note["description"]
    for i, caveat in enumerate(result["explanation"]["caveats"]):
        shown[f"explanation.caveats.{i}"] = caveat
    return shown


def differences(shown: dict[str, str], expected: dict[str, str]) -> list[str]:
    """Where the page and the API disagree; the request id is the page's own request's."""
    lines = []
    for key, want in expected.items():
        got = shown.get(key)
        if got != want:
            lines.append(f"{key}: page shows {got!r}, the API says {want!r}")
    extra = set(shown) - set(expected) - {"meta.request_id", "balance.balance"}
    lines.extend(f"{key}: shown on the page but not checked" for key in sorted(extra))
    return lines


# Runs in the page: {key: textContent} of every element marked with data-k.
READ_SHOWN = """
return Object.fromEntries([...document.querySelectorAll('[data-k]')]
  .map((e) => [e.dataset.k, e.textContent]));
"""

# Runs in the page: text whose contrast with what is behind it is under 4.5:1 (WCAG AA).
# HTML text against the first opaque background among its ancestors; chart text against
# the card, or against its bar for the labels drawn inside bars.
LOW_CONTRAST = """
const rgb = (c) => {
  const m = /rgba?\\(([^)]+)\\)/.exec(c || '');
  if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return { c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 };
};
const lum = ({ c }) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const behind = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0.5) return c;
  }
  return { c: [255, 255, 255], a: 1 };
};
const low = [];
const seen = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const el = walker.currentNode.parentElement;
  if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
  seen.add(el);
  if (!el.getClientRects().length || el.closest('.visually-hidden, title, option')) continue;
  let fg, bg;
  if (el instanceof SVGElement) {
    fg = rgb(getComputedStyle(el).fill);
    const bar = el.classList.contains('in-bar') ? el.previousElementSibling : null;
    bg = bar ? rgb(getComputedStyle(bar).fill) : behind(el.ownerSVGElement.parentElement);
  } else {
    fg = rgb(getComputedStyle(el).color);
    bg = behind(el);
  }
  if (!fg || !bg) continue;
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  if (ratio < 4.5) {
    low.push(`${ratio.toFixed(2)}:1 ${el.tagName.toLowerCase()} "${walker.currentNode.textContent.trim().slice(0, 40)}"`);
  }
}
return low;
"""

# Runs in the page: visible form controls without an accessible name.
UNNAMED_CONTROLS = """
return [...document.querySelectorAll('input, select, button')]
  .filter((e) => e.getClientRects().length)
  .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
                   || (e.tagName === 'BUTTON' && e.textContent.trim())))
  .map((e) => e.id || e.outerHTML.slice(0, 80));
"""

# Runs in the page: what is wider than the viewport (the page) or its box (the tables).
OVERFLOW = """
const out = [];
if (document.documentElement.scrollWidth > innerWidth) {
  out.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${innerWidth}px viewport`);
}
for (const w of document.querySelectorAll('.table-wrap')) {
  if (w.scrollWidth > w.clientWidth + 1) out.push(`${w.firstElementChild.id} scrolls sideways`);
}
return out;
"""
