#!/usr/bin/env python3
"""Checks of the operations files that promtool alone does not make (scripts/ops-check.sh).

  1. Every PromQL expression of the Grafana dashboard parses: each becomes one recording
     rule of a throwaway rule file that `promtool check rules` reads (Grafana's
     $__rate_interval is replaced by 5m first; any other $variable is an error).
  2. Every metric an expression reads (dashboard, alert rules, alert tests) is one the
     service exports: a name in `NAMES` of src/metrics.rs (a histogram's _bucket, _sum and
     _count included), or one Prometheus itself makes (`up`). So are the trickster_ names
     written anywhere in ops/ and in docs/RUNBOOK.md.
  3. Every alert has a unit test in which it fires, a section in docs/RUNBOOK.md, and a
     `runbook` annotation pointing at that section.
  4. README.md names every metric of `NAMES`.

Usage: ops-check.py PROMTOOL   (run from the repository root)
Prints one line per check; exits 1 when any fails.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

DASHBOARD = "ops/grafana/trickster-oracle.json"
ALERTS = "ops/prometheus/alerts.yml"
ALERT_TESTS = "ops/prometheus/alerts.test.yml"
RUNBOOK = "docs/RUNBOOK.md"
METRICS_RS = "src/metrics.rs"
README = "README.md"

# Series Prometheus adds to every scrape, which expressions may read too.
PROMETHEUS_NAMES = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile"}
KEYWORDS = AGGREGATIONS | {"by", "without", "on", "ignoring", "group_left", "group_right",
                           "bool", "and", "or", "unless", "offset", "inf", "nan", "atan2"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

failures = []


def check(ok, what, detail=""):
    print(f"  {'ok  ' if ok else 'FAIL'}  {what}{': ' + detail if detail and not ok else ''}")
    if not ok:
        failures.append(what)


def exported_names():
    """The metric names of `NAMES` in src/metrics.rs."""
    text = open(METRICS_RS).read()
    block = re.search(r"pub const NAMES: \[\(&str, &str\); \d+\] = \[(.*?)\n\];", text, re.S)
    if not block:
        sys.exit(f"ops-check: cannot find NAMES in {METRICS_RS}")
    return set(re.findall(r'\(\s*"(trickster_[a-z0-9_]+)",', block.group(1)))


def metric_names(expr):
    """The metric names a PromQL expression reads: identifiers outside strings, label
    matchers, ranges and label lists that are neither functions, aggregations nor keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    tokens = re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*|\d[\w.]*|\S", text)
    names, i = set(), 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in LABEL_LIST_KEYWORDS and following == "(":
            i = tokens.index(")", i)  # a label list holds no nested parentheses
        elif re.match(r"[A-Za-z_:]", token) and following != "(" and token not in KEYWORDS:
            names.add(token)
        i += 1
    return names


def known(name, exported):
    if name in exported or name in PROMETHEUS_NAMES:
        return True
    return any(name.endswith(s) and name[: -len(s)] in exported for s in HISTOGRAM_SUFFIXES)


def dashboard_exprs():
    """(panel title, expr) of every query of the dashboard, rows' nested panels included."""
    board = json.load(open(DASHBOARD))
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(board["panels"])
    return found


def yaml_exprs(path):
    """The `expr:` values of a rule file (block scalars or one line) and the series names
    of a test file's `series:` lines, without a YAML library."""
    lines = open(path).read().splitlines()
    exprs, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", lines[i])
        if m:
            indent, value = len(m.group(1)), m.group(2).strip()
            if value in ("|", "|-", ">", ">-"):
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    body.append(lines[i].strip())
                    i += 1
                exprs.append("\n".join(body).strip())
                continue
            exprs.append(value.strip("'\""))
        i += 1
    return exprs


def series_names(path):
    return set(re.findall(r"series:\s*'([A-Za-z_:][A-Za-z0-9_:]*)", open(path).read()))


def main():
    promtool = sys.argv[1] if len(sys.argv) > 1 else "promtool"
    exported = exported_names()
    print(f"  {len(exported)} metric names in {METRICS_RS}")

    # 1. the dashboard's expressions parse
    queries = dashboard_exprs()
    rules, unresolved = [], []
    for n, (title, expr) in enumerate(queries):
        concrete = expr.replace("$__rate_interval", "5m")
        if "$" in concrete.replace("${1}", ""):
            unresolved.append(f"{title}: {expr}")
        rules.append({"record": f"dashboard:query_{n}", "expr": concrete})
    check(not unresolved, "the dashboard's queries use no variable but $__rate_interval",
          "; ".join(unresolved))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard-queries.yml")
        with open(path, "w") as f:  # JSON is YAML
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1)
        run = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    check(run.returncode == 0 and len(queries) > 0,
          f"promtool parses all {len(queries)} queries of {DASHBOARD}",
          (run.stdout + run.stderr).strip())

    # 2. every metric read or named exists
    uses = {}
    for title, expr in queries:
        for name in metric_names(expr):
            uses.setdefault(name, set()).add(f"dashboard panel '{title}'")
    for expr in yaml_exprs(ALERTS):
        for name in metric_names(expr):
            uses.setdefault(name, set()).add(ALERTS)
    for name in series_names(ALERT_TESTS):
        uses.setdefault(name, set()).add(ALERT_TESTS)
    for root, _, files in os.walk("ops"):
        for file in files:
            path = os.path.join(root, file)
            for name in re.findall(r"\btrickster_[a-z0-9_]+", open(path).read()):
                uses.setdefault(name, set()).add(path)
    for name in re.findall(r"\btrickster_[a-z0-9_]+", open(RUNBOOK).read()):
        uses.setdefault(name, set()).add(RUNBOOK)
    unknown = sorted(f"{n} ({', '.join(sorted(w))})" for n, w in uses.items()
                     if not known(n, exported))
    check(not unknown, f"all {len(uses)} metric names used in ops/ and {RUNBOOK} are exported",
          "; ".join(unknown))
    unused = sorted(n for n in exported
                    if not any(u == n or (u.endswith(HISTOGRAM_SUFFIXES) and u.rsplit("_", 1)[0] == n)
                               for u in uses))
    print(f"        exported but on no dashboard, rule or runbook: {', '.join(unused) or 'none'}")

    # 3. every alert is tested and has a runbook section
    rules_text = open(ALERTS).read()
    alerts = re.findall(r"^\s*- alert:\s*(\S+)", rules_text, re.M)
    tests_text = open(ALERT_TESTS).read()
    # alertname lines followed (before the next alertname) by a non-empty exp_alerts list
    firing = set()
    for block in re.split(r"\n\s*- eval_time:", tests_text):
        m = re.search(r"alertname:\s*(\S+)", block)
        if m and re.search(r"exp_alerts:\s*\n\s*- exp_labels:", block):
            firing.add(m.group(1))
    runbook = open(RUNBOOK).read()
    sections = set(re.findall(r"^###\s+(\S+)\s*$", runbook, re.M))
    check(len(alerts) > 0, f"{ALERTS} defines alerts ({len(alerts)})")
    for alert in alerts:
        anchor = f"docs/RUNBOOK.md#{alert.lower()}"
        block = rules_text.split(f"alert: {alert}", 1)[1].split("- alert:", 1)[0]
        problems = []
        if alert not in firing:
            problems.append("no test in which it fires")
        if alert not in sections:
            problems.append(f"no '### {alert}' section in {RUNBOOK}")
        if f"runbook: {anchor}" not in block:
            problems.append(f"its runbook annotation is not {anchor}")
        check(not problems, f"alert {alert}: fires in a test, runbook section and link",
              "; ".join(problems))

    # 4. the README names every metric
    readme = open(README).read()
    missing = sorted(n for n in exported if n not in readme)
    check(not missing, f"{README} names every exported metric", ", ".join(missing))

    if failures:
        print(f"\nops-check: {len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
