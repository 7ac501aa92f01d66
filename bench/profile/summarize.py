#!/usr/bin/env python3
"""A flame summary of `perf script` output (demangled): the share of samples whose stack
contains a frame of each group, and the top self (leaf) symbols. Usage:
    perf script -i perf.data | swift demangle --simplified | bench/profile/summarize.py
"""
import re
import sys
from collections import Counter

GROUPS = [
    ("JSON writing (JSONValue.write…, APIResponse.json)", r"JSONValue\.(write|serialized)|APIResponse\.json"),
    ("JSON parsing (JSONParser, RequestFields)", r"JSONParser\.|RequestFields\."),
    ("response views (Views.*)", r"static Views\."),
    ("metrics (MetricsMiddleware, BillingMetrics, Prometheus)", r"MetricsMiddleware|BillingMetrics|Prometheus"),
    ("lane thread (DeductionLane.run: batch, SQL, commit, cache write)", r"DeductionLane\.run"),
    ("  of which BatchApplier.apply (the transaction)", r"BatchApplier\.apply"),
    ("  of which the cache write (RedisAccountCache)", r"RedisAccountCache"),
    ("HTTP parsing (NIO HTTPDecoder)", r"HTTPDecoder|llhttp"),
    ("socket writes (writev, flush)", r"writeToSocket|__GI___writev|flushNow"),
    ("socket reads", r"readFromSocket"),
    ("Swift concurrency executor (swift_job_run, dispatch)", r"swift_job_run|_dispatch_worker_thread"),
    ("retain/release", r"^swift_(retain|release)$"),
    ("malloc/free", r"^(malloc|_int_malloc|_int_free|cfree.*|free)$"),
    ("runtime generic metadata lookups", r"_swift_getGenericMetadata"),
    ("kernel scheduler (context switches)", r"finish_task_switch|__schedule"),
]


def main() -> None:
    samples = sys.stdin.read().split("\n\n")
    total = 0
    hits = Counter()
    leaves = Counter()
    for sample in samples:
        lines = [l.strip() for l in sample.strip().split("\n")]
        if len(lines) < 2:
            continue
        frames = [re.sub(r"^[0-9a-f]+ ", "", l).rsplit(" (", 1)[0] for l in lines[1:]]
        frames = [re.sub(r"\+0x[0-9a-f]+$", "", f) for f in frames]
        total += 1
        leaves[frames[0][:100]] += 1
        for name, pattern in GROUPS:
            regex = re.compile(pattern)
            if any(regex.search(f) for f in frames):
                hits[name] += 1
    print(f"samples: {total}\n")
    print("| group (inclusive) | share of the server's samples |")
    print("|---|---:|")
    for name, _ in GROUPS:
        print(f"| {name} | {100 * hits[name] / max(total, 1):.1f} % |")
    print("\n| top self symbols | share |")
    print("|---|---:|")
    for symbol, count in leaves.most_common(12):
        print(f"| `{symbol.replace('|', '/')}` | {100 * count / max(total, 1):.1f} % |")


if __name__ == "__main__":
    main()
