#!/usr/bin/env python3
"""Split a service CPU profile into the stages of a request.

Input: `perf script -F comm,tid,ip,sym --no-demangle` of a recording made with call graphs,
e.g. during the cache-hit row of scripts/load-bench.sh (scripts/load/profile.sh does all of
this for the hit and /health rows):

    perf record -F 499 --call-graph dwarf,32768 -p <service pid> -o hit.data -- sleep 6
    perf script -i hit.data -F comm,tid,ip,sym --no-demangle > hit.script
    scripts/load/perf-classify.py hit.script

Each sample goes to the first stage (in the order below) with a frame anywhere in its
stack (patterns match one frame's symbol; generic parameters are part of it, so they name
functions, not the types those are generic over); "kernel leaf" is the part spent in the kernel (socket I/O, wake-ups) under it.
Stacks are symbol names, so the patterns follow the code; unwinding is sometimes cut short,
which leaves such samples in a broader stage.
"""
import collections
import re
import sys

STAGES = [
    ("request and trace ids (per-thread generator, hex and uuid formatting, traceparent parse)",
     r"uuid|TraceContext|ids::|3ids|getrandom"),
    ("request span (tracing-subscriber formats its fields as JSON)",
     r"tracing..span..Span|tracing::span::Span|tracing_subscriber|JsonFields|new_span"),
    ("metrics recording", r"metrics::|metrics_util|metrics_exporter|record_request|record_cache"
     r"|set_requests_in_flight|metrics..|metrics_util.."),
    ("request body parse and validation",
     r"Validated|ParseFromJSON|parse_from_json|from_slice|serde_path_to_error|Plan3new"),
    ("canonical body and fingerprint (SHA-256)", r"fingerprint|sha2|canonical"),
    ("response body: this request's event and meta spliced into the cached numbers",
     r"simulate6result|simulate::result|splice_object|to_json_string|SimulationMeta|EventView"
     r"|RenderedJson"),
    ("instance copy of results (moka)", r"moka|LocalResults"),
    ("authorisation gate: route lookup", r"PathInfo|document..PathInfo"),
    ("Redis client: admission round trip (encode, pipeline task, socket, decode)",
     r"redis::|redis\.\.|store..Store|store::Store|admission"),
    ("HTTP response write (hyper, kernel TCP send over loopback)",
     r"write_vectored|writev|sendmsg|sendto|^poll_flush<hyper_util|Tracked\$LT\$S\$GT\$.*AsyncWrite"),
    ("HTTP request read and parse (hyper, kernel TCP receive)",
     r"^(poll_read_from_io|poll_read_head|parse<hyper_util)|17poll_read_from_io|14poll_read_head"
     r"|Tracked\$LT\$S\$GT\$\$u20\$as\$u20\$tokio..io..async_read|tcp_recvmsg|recvfrom"
     r"|Http1Transaction\$GT\$5parse"),
    ("envelope, routing, rest of poem/hyper", r"hyper::|hyper\.\.|poem::|poem\.\.|envelope"),
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
    stages = [(name, re.compile(rx, re.M)) for name, rx in STAGES]
    counts, kernel = collections.Counter(), collections.Counter()
    total = alloc = 0
    for chain in samples(sys.argv[1]):
        total += 1
        leaf = chain[0].split(" ", 1)[-1]
        in_kernel = chain[0].startswith("ffffffff")
        if ALLOCATOR.search(leaf):
            alloc += 1
        # Symbols only, one per line (patterns may anchor on a frame's start).
        text = "\n".join(frame.split(" ", 1)[-1] for frame in chain)
        name = next((n for n, rx in stages if rx.search(text)), "other / stack not unwound")
        counts[name] += 1
        kernel[name] += in_kernel
    print(f"{total} samples")
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  (kernel leaf {100 * kernel[name] / total:4.1f} %)  {name}")
    print(f"allocator (malloc/free) as leaf, across all stages: {100 * alloc / total:.1f} %")


if __name__ == "__main__":
    main()
