#!/usr/bin/env python3
"""The crate's module graph, and a check that it has no cycle.

    scripts/module-graph.py            # print the graph (top-level areas, then each area)
    scripts/module-graph.py --check    # print it, and fail if modules import each other

A module depends on another when its source names it (`crate::a::b`, `super::b`, or a
`use` of either). Edges are drawn between the top-level areas of `src/` (api, store,
domain, ...) and between sibling modules inside each area (api::simulate -> api::error);
an edge from a module to its own descendants or ancestors is not a dependency. The
intended direction is `api -> domain, store`; `store -> domain`; `domain -> nothing`.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
# Where the crate's own areas may point (anything not listed here is a finding).
ALLOWED = {
    "domain": set(),
    "config": set(),
    "metrics": set(),
    "telemetry": {"config"},
    "ids": set(),
    "store": {"domain", "config", "metrics", "ids"},
    "server": {"config"},
    "api": {"domain", "store", "config", "metrics", "ids", "telemetry"},
    "startup": {"api", "config", "server", "store", "metrics", "domain"},
    "lib": None,
    "main": None,
}


def module_of(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def use_paths(tree: str) -> list[list[str]]:
    """The paths of a `use` tree (`a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e)."""
    tree = tree.strip()
    if "{" not in tree:
        head = re.split(r"\s+as\s+", tree)[0].strip()
        return [head.split("::")] if head else []
    prefix, rest = tree.split("{", 1)
    if "}" not in rest:
        return []
    body = rest[: rest.rindex("}")]
    items, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += (ch == "{") - (ch == "}")
        current += ch
    items.append(current)
    prefix = [p for p in prefix.strip().rstrip(":").split("::") if p]
    paths = []
    for item in items:
        for path in use_paths(item):
            paths.append(prefix + [p for p in path if p and p != "self"])
    return paths


def references(module: list[str], text: str) -> set[tuple[str, ...]]:
    """The modules a source file names, as absolute paths (possibly ending in an item)."""
    text = re.sub(r"//[^\n]*", "", text)
    found = set()
    statement = r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]*);"
    for tree in re.findall(statement, text, re.M):
        for path in use_paths(tree):
            if path and path[0] in ("crate", "super"):
                found.add(resolve(module, path))
    code = re.sub(statement, "", text, flags=re.M)
    for path in re.findall(r"\b((?:crate|super)(?:::(?:\w+|super))+)", code):
        found.add(resolve(module, path.split("::")))
    return {f for f in found if f}


def resolve(module: list[str], segments: list[str]) -> tuple[str, ...]:
    if segments[0] == "crate":
        base, rest = [], segments[1:]
    else:
        base = module[:-1]
        rest = segments[1:]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    return tuple(base + rest)


def known_modules() -> set[tuple[str, ...]]:
    return {tuple(module_of(p)) for p in SRC.rglob("*.rs")}


def longest_module(path: tuple[str, ...], modules: set) -> tuple[str, ...]:
    for n in range(len(path), 0, -1):
        if path[:n] in modules:
            return path[:n]
    return path[:1]


def graph():
    modules = known_modules()
    tops = {m[0] for m in modules if m}
    edges = defaultdict(set)
    for file in SRC.rglob("*.rs"):
        module = module_of(file)
        if not module:
            continue
        for ref in references(module, file.read_text()):
            # Paths out of inline modules (`mod tests`) resolve one level off; they never
            # name a top-level module, and say nothing about the file's dependencies.
            if ref[0] not in tops:
                continue
            target = longest_module(ref, modules)
            # Compare at the level where the two modules part: siblings under a common parent.
            common = 0
            while common < min(len(module), len(target)) and module[common] == target[common]:
                common += 1
            if common >= len(module) or common >= len(target):
                continue  # an ancestor or a descendant
            src = tuple(module[: common + 1])
            dst = tuple(target[: common + 1])
            edges[src].add(dst)
    return edges


def cycles(edges) -> list[list[tuple[str, ...]]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    edges = graph()
    name = "::".join
    by_parent = defaultdict(list)
    for src in sorted(edges):
        by_parent[src[:-1]].append(src)
    for parent in sorted(by_parent, key=len):
        print(f"[{name(parent) or 'crate'}]")
        for src in by_parent[parent]:
            targets = ", ".join(sorted(t[-1] for t in edges[src]))
            print(f"  {src[-1]} -> {targets}")
    problems = []
    for component in cycles(edges):
        problems.append("cycle: " + " <-> ".join(sorted(name(m) for m in component)))
    for src, targets in edges.items():
        if len(src) == 1 and ALLOWED.get(src[0]) is not None:
            for target in targets:
                if target[0] not in ALLOWED[src[0]]:
                    problems.append(f"{src[0]} -> {target[0]} is against the intended direction")
    for problem in problems:
        print(problem)
    if "--check" in sys.argv and problems:
        return 1
    if "--check" in sys.argv:
        print("no cycle; every area points the intended way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
