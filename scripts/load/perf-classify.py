#!/usr/bin/env python3
"""Split a service CPU profile into the stages of a request.

Input: `perf script -F comm,tid,ip,sym --no-demangle` of a recording made with call graphs,
e.g. during the cache-hit row of scripts/load-bench.sh:

    perf record -F 499 --call-graph dwarf,32768 -p <service pid> -o hit.data -- sleep 6
    perf script -i hit.data -F comm,tid,ip,sym --no-demangle > hit.script
    scripts/load/perf-classify.py hit.script

Each sample goes to the first stage (in the order below) with a frame anywhere in its
stack; "kernel leaf" is the part spent in the kernel (socket I/O, wake-ups) under it.
Stacks are symbol names, so the patterns follow the code; unwinding is sometimes cut short,
which leaves such samples in a broader stage.
"""
import collections
import re
import sys

STAGES = [
    ("request span field recording (tracing-subscriber JsonFields)",
     r"tracing..span..Span..record|record_all|JsonFields|tracing_subscriber"),
    ("response body: poem-openapi Json<T> -> serde_json::Value -> bytes",
     r"SimulationResult.*ToJSON|ToJSON.*SimulationResult|SimulateResponse.*IntoResponse"
     r"|into_response<trickster_oracle::api::simulate::SimulationResult>"
     r"|Json.*IntoResponse|to_vec<core::option::Option<serde_json::value::Value>>"),
    ("cached JSON -> Analysis (serde_json) and into the response structs",
     r"SimulateApi::result|SimulateApi6result"
     r"|from_trait<serde_json::read::StrRead, trickster_oracle::domain::analysis::Analysis>"),
    ("request body parse and validation",
     r"Validated|ParseFromJSON|parse_from_json|from_slice|RequestBody"),
    ("canonical body and fingerprint (SHA-256)", r"fingerprint|sha2|canonical"),
    ("metrics recording", r"metrics::|metrics_util|metrics_exporter|record_request"),
    ("Redis client (encode, decode, socket)", r"redis::|redis\.\.|store::Store|Store\$|admission"),
    ("HTTP: hyper/poem parse, routing, write (incl. kernel TCP)",
     r"hyper::|hyper\.\.|poem::|poem\.\."),
    ("tokio scheduler / epoll", r"tokio::runtime|tokio\.\.runtime|epoll|mio::"),
]
ALLOCATOR = re.compile(r"malloc|_int_free|cfree|__libc_free|tcache|unlink_chunk|realloc")


def samples(path):
    chain = []
    with open(path, errors="replace") as f:
        for line in f:
            if line[:1] in "\t ":
                chain.append(line.strip())
            else:
                if chain:
                    yield chain
                chain = []
    if chain:
        yield chain


def main():
    stages = [(name, re.compile(rx)) for name, rx in STAGES]
    counts, kernel = collections.Counter(), collections.Counter()
    total = alloc = 0
    for chain in samples(sys.argv[1]):
        total += 1
        leaf = chain[0].split(" ", 1)[-1]
        in_kernel = chain[0].startswith("ffffffff")
        if ALLOCATOR.search(leaf):
            alloc += 1
        text = "\n".join(chain)
        name = next((n for n, rx in stages if rx.search(text)), "other / stack not unwound")
        counts[name] += 1
        kernel[name] += in_kernel
    print(f"{total} samples")
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  (kernel leaf {100 * kernel[name] / total:4.1f} %)  {name}")
    print(f"allocator (glibc malloc/free) as leaf, across all stages: {100 * alloc / total:.1f} %")


if __name__ == "__main__":
    main()
