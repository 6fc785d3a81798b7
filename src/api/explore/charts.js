// The charts: inline SVG drawn at the width of their container, so text keeps its size on
// a phone. Colours and strokes come from classes in explore.css (no inline style); every
// chart is an image with a short label, and the page shows the same numbers in a table.

import { pct } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children (elements or text). */
function node(tag, attrs = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children) {
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

/** A fresh SVG filling `container`, `height` pixels tall. */
function canvas(container, height, label) {
  const width = Math.max(240, Math.floor(container.clientWidth));
  const svg = node("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
  container.replaceChildren(svg);
  return { svg, width };
}

const round = (x) => Math.round(x * 10) / 10;

/**
 * Home / draw / away: the simulated share as a bar, its 95% interval as a whisker and the
 * exact formula as a diamond. `rows`: `[{outcome, label, value, lower, upper, exact}]`.
 */
export function drawProbabilities(container, rows) {
  const rowHeight = 50;
  const { svg, width } = canvas(
    container,
    rows.length * rowHeight + 26,
    "Bar chart of the simulated probability of each outcome, with its 95% interval and the exact formula; the table below has the numbers.",
  );
  const x = (p) => round(1 + p * (width - 2));
  rows.forEach((row, i) => {
    const top = i * rowHeight;
    const barY = top + 22;
    const mid = barY + 9;
    svg.append(
      node("text", { x: 0, y: top + 14, class: "label" }, row.label),
      node("text", { x: width, y: top + 14, class: "value", "text-anchor": "end" }, pct(row.value)),
      node("rect", { x: 1, y: barY, width: width - 2, height: 18, rx: 3, class: "track" }),
      node("rect", { x: 1, y: barY, width: x(row.value) - 1, height: 18, rx: 3, class: `bar ${row.outcome}` }),
      node("path", {
        d: `M${x(row.lower)} ${mid - 6}v12M${x(row.lower)} ${mid}H${x(row.upper)}M${x(row.upper)} ${mid - 6}v12`,
        class: "whisker",
      }),
      node("path", { d: `M${x(row.exact)} ${mid - 8}l6 8l-6 8l-6 -8z`, class: "exact" }),
    );
  });
  const axisY = rows.length * rowHeight + 4;
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const anchor = tick === 0 ? "start" : tick === 1 ? "end" : "middle";
    svg.append(
      node("path", { d: `M${x(tick)} ${axisY - 6}v4`, class: "tick" }),
      node("text", { x: x(tick), y: axisY + 12, class: "axis", "text-anchor": anchor }, `${tick * 100}%`),
    );
  }
}

/** The uncertainty score on its 0–100 scale, with the band limits 75 and 93. */
export function drawGauge(container, value) {
  const { svg, width } = canvas(
    container,
    58,
    `Uncertainty score ${value.toFixed(1)} on a scale from 0 to 100; low below 75, medium below 93, high from 93.`,
  );
  const x = (s) => round(8 + (s / 100) * (width - 16));
  const zones = [
    [0, 75, "low"],
    [75, 93, "medium"],
    [93, 100, "high"],
  ];
  for (const [from, to, band] of zones) {
    svg.append(node("rect", { x: x(from), y: 20, width: x(to) - x(from), height: 12, class: `zone ${band}` }));
  }
  // Below 420 pixels "100" would run into "93".
  for (const tick of width < 420 ? [0, 75, 93] : [0, 75, 93, 100]) {
    const anchor = tick === 0 ? "start" : tick === 100 ? "end" : "middle";
    svg.append(node("text", { x: tick === 0 ? 0 : tick === 100 ? width : x(tick), y: 50, class: "axis", "text-anchor": anchor }, String(tick)));
  }
  svg.append(
    node("path", { d: `M${x(value)} 34V16`, class: "marker-line" }),
    node("path", { d: `M${x(value) - 7} 4h14l-7 10z`, class: "marker" }),
  );
}

/** The three scenarios side by side: each a stacked bar of home, draw and away. */
export function drawScenarios(container, scenarios) {
  const height = 232;
  const { svg, width } = canvas(
    container,
    height,
    "Stacked bars of home win, draw and away win under the conservative, base and aggressive scenarios; the table below has the numbers.",
  );
  const column = width / scenarios.length;
  const barWidth = Math.min(84, column * 0.62);
  const top = 6;
  const plot = height - top - 34;
  scenarios.forEach((scenario, i) => {
    const left = round(i * column + (column - barWidth) / 2);
    let y = top + plot;
    for (const outcome of ["home", "draw", "away"]) {
      const share = scenario.probabilities[outcome];
      const h = share * plot;
      y -= h;
      svg.append(node("rect", { x: left, y: round(y), width: round(barWidth), height: round(h), class: `bar ${outcome}` }));
      if (h >= 18) {
        svg.append(
          node("text", { x: round(left + barWidth / 2), y: round(y + h / 2 + 4), class: `in-bar ${outcome}`, "text-anchor": "middle" }, pct(share)),
        );
      }
    }
    const name = scenario.name[0].toUpperCase() + scenario.name.slice(1);
    svg.append(node("text", { x: round(i * column + column / 2), y: height - 12, class: "label", "text-anchor": "middle" }, name));
  });
}

/**
 * The histogram of the expected score (20 bins on [0, 1]) behind its middle half, with the
 * median and the mean marked. `stats`: the `expected_score` of a result.
 */
export function drawHistogram(container, stats) {
  const { counts, edges } = stats.histogram;
  const total = counts.reduce((a, b) => a + b, 0) || 1;
  const height = 240;
  const { svg, width } = canvas(
    container,
    height,
    `Histogram of the home side's expected score over ${total} simulated matches; median ${stats.quantiles.p50.toFixed(3)}, mean ${stats.mean.toFixed(3)}.`,
  );
  const left = 40;
  const top = 12;
  const bottom = 40;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const maxShare = Math.max(...counts) / total;
  const step = maxShare > 0.2 ? 10 : maxShare > 0.08 ? 5 : 2;
  const yMax = Math.max(step, Math.ceil((maxShare * 100) / step) * step) / 100;
  const x = (v) => round(left + v * plotW);
  const y = (share) => round(top + plotH - (share / yMax) * plotH);

  for (let t = 0; t <= yMax * 100 + 1e-9; t += step) {
    svg.append(
      node("path", { d: `M${left} ${y(t / 100)}H${left + plotW}`, class: "grid" }),
      node("text", { x: left - 6, y: y(t / 100) + 4, class: "axis", "text-anchor": "end" }, `${t}%`),
    );
  }
  const { p25, p50, p75 } = stats.quantiles;
  svg.append(node("rect", { x: x(p25), y: top, width: x(p75) - x(p25), height: plotH, class: "middle" }));
  counts.forEach((n, i) => {
    const share = n / total;
    const bar = node("rect", {
      x: x(edges[i]) + 1,
      y: y(share),
      width: Math.max(1, x(edges[i + 1]) - x(edges[i]) - 2),
      height: round(top + plotH - y(share)),
      class: "bar hist",
    });
    bar.append(node("title", {}, `${edges[i].toFixed(2)}–${edges[i + 1].toFixed(2)}: ${n} matches (${pct(share)})`));
    svg.append(bar);
  });
  svg.append(
    node("path", { d: `M${x(p50)} ${top}V${top + plotH}`, class: "median" }),
    node("path", { d: `M${x(stats.mean)} ${top}V${top + plotH}`, class: "mean" }),
    node("path", { d: `M${left} ${top + plotH}H${left + plotW}`, class: "baseline" }),
  );
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(node("text", { x: x(tick), y: height - 22, class: "axis", "text-anchor": "middle" }, String(tick)));
  }
  svg.append(
    node("text", { x: left, y: height - 4, class: "axis" }, "away side wins"),
    node("text", { x: left + plotW, y: height - 4, class: "axis", "text-anchor": "end" }, "home side wins"),
  );
}
