"""Prints the benchmark table from the JSON lines bench/run.sh recorded, with the added
cost of going through LangMart and where it stands against the targets. In smoke mode it
only checks that every scenario produced numbers (exit 1 otherwise)."""

import json
import os
import platform
import sys
from datetime import datetime, timezone

rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["name"], {})[r["side"]] = r["data"]
mode = sys.argv[2]


def ms(us):
    return f"{us / 1000:.3f}"


print(f"\nLangMart benchmark ({mode}) — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
      f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}")
print("\nAdded latency (open loop, fixed rate; ms; 'added' = gateway - direct, the bare pass-through's own hop beside it)")
print("| rate | direct p50 | gateway p50 | added p50 | pass-through added p50 | direct p99 | gateway p99 | added p99 | pass-through added p99 | added p99.9 | achieved rps (d / p / g) | errors (d / p / g) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
rates = sorted((int(k.split("_")[1]) for k in rows if k.startswith("rate_")))
for rps in rates:
    d, p, g = (rows[f"rate_{rps}"][side] for side in ("direct", "passthrough", "gateway"))
    print(f"| {rps} | {ms(d['p50_us'])} | {ms(g['p50_us'])} | {ms(g['p50_us'] - d['p50_us'])} | {ms(p['p50_us'] - d['p50_us'])} | "
          f"{ms(d['p99_us'])} | {ms(g['p99_us'])} | {ms(g['p99_us'] - d['p99_us'])} | {ms(p['p99_us'] - d['p99_us'])} | "
          f"{ms(g['p999_us'] - d['p999_us'])} | {d['achieved_rps']:.0f} / {p['achieved_rps']:.0f} / {g['achieved_rps']:.0f} | "
          f"{d['errors']} / {p['errors']} / {g['errors']} |")

s = rows["saturation"]
ratio = s["gateway"]["rps"] / max(s["passthrough"]["rps"], 1)
print(f"\nSaturation at concurrency 64: direct {s['direct']['rps']:.0f} rps, bare pass-through proxy "
      f"{s['passthrough']['rps']:.0f} rps, gateway {s['gateway']['rps']:.0f} rps (gateway / pass-through {ratio:.2f}, "
      f"gateway / direct {s['gateway']['rps'] / max(s['direct']['rps'], 1):.2f}; p99 {ms(s['direct']['p99_us'])} / "
      f"{ms(s['passthrough']['p99_us'])} / {ms(s['gateway']['p99_us'])} ms)")
print(f"CPU per request (user + system, whole process): bare pass-through {s['passthrough'].get('cpu_us_per_request', 0):.1f} µs, "
      f"gateway {s['gateway'].get('cpu_us_per_request', 0):.1f} µs (auth, routing, limits, JSON, request log)")

st = rows["streams"]
print(f"\nStreaming, {st['direct']['ttfb']['count']} concurrent streams on warm connections (ms):")
print("| | direct | bare pass-through | gateway | added (gateway - direct) |")
print("|---|---|---|---|---|")
for label, key, q in [("TTFB p50", "ttfb", "p50_us"), ("TTFB p99", "ttfb", "p99_us"), ("gap p50", "gap", "p50_us"), ("gap p99", "gap", "p99_us")]:
    d, p, g = st["direct"][key][q], st["passthrough"][key][q], st["gateway"][key][q]
    print(f"| {label} | {ms(d)} | {ms(p)} | {ms(g)} | {ms(g - d)} |")
print(f"stream errors: direct {st['direct']['errors']}, pass-through {st['passthrough']['errors']}, gateway {st['gateway']['errors']}")
one = rows["stream_one"]
print(f"One stream at a time ({one['direct']['ttfb']['count']} in a row): TTFB p50 direct {ms(one['direct']['ttfb']['p50_us'])}, "
      f"bare pass-through {ms(one['passthrough']['ttfb']['p50_us'])}, gateway {ms(one['gateway']['ttfb']['p50_us'])} — added {ms(one['gateway']['ttfb']['p50_us'] - one['direct']['ttfb']['p50_us'])} ms "
      f"(p99 added {ms(one['gateway']['ttfb']['p99_us'] - one['direct']['ttfb']['p99_us'])} ms)")

fb = rows["fallback"]["gateway"]
base = rows[f"rate_{rates[0]}"]["gateway"]
print(f"\nFallback (first connection answers 500, second serves) at {rates[0]} rps: p50 {ms(fb['p50_us'])} ms, "
      f"p99 {ms(fb['p99_us'])} ms — {ms(fb['p50_us'] - base['p50_us'])} ms over a direct route at p50; errors {fb['errors']}")
for name, label in [("collection", "collection/NAME, 3 members, first serves"),
                    ("collection_fallback", "collection/NAME, first member answers 500, second serves")]:
    c = rows[name]["gateway"]
    print(f"Routing through {label} at {rates[0]} rps: p50 {ms(c['p50_us'])} ms, p99 {ms(c['p99_us'])} ms — "
          f"{ms(c['p50_us'] - base['p50_us'])} ms over a direct route at p50; errors {c['errors']}")

hold = rows["hold"]["gateway"]
cold = rows["coldstart"]["gateway"]
print(f"\nMemory: RSS idle {cold['idle_rss_kb'] / 1024:.1f} MB; with {hold['open_streams']} open streams "
      f"{hold['rss_kb'] / 1024:.1f} MB held open ({hold['rss_kb_started'] / 1024:.1f} MB the moment the last one started)")
print(f"Cold start (process start to /health ok): {cold['cold_start_ms']:.1f} ms")

if mode == "full":
    top = rows[f"rate_{rates[-1]}"]
    checks = [
        (f"p50 added at {rates[-1]} rps <= 0.15 ms", (top['gateway']['p50_us'] - top['direct']['p50_us']) / 1000 <= 0.15),
        (f"p99 added at {rates[-1]} rps <= 0.5 ms", (top['gateway']['p99_us'] - top['direct']['p99_us']) / 1000 <= 0.5),
        ("throughput >= 0.8 x a bare pass-through proxy", ratio >= 0.8),
        ("TTFB added <= 0.5 ms (p50, 200 concurrent streams)", (st['gateway']['ttfb']['p50_us'] - st['direct']['ttfb']['p50_us']) / 1000 <= 0.5),
        ("TTFB added <= 0.5 ms (p50, one stream at a time)", (one['gateway']['ttfb']['p50_us'] - one['direct']['ttfb']['p50_us']) / 1000 <= 0.5),
        ("RSS idle <= 40 MB", cold['idle_rss_kb'] / 1024 <= 40),
        (f"RSS at {hold['open_streams']} streams <= 150 MB", hold['rss_kb'] / 1024 <= 150),
        ("cold start <= 300 ms", (cold['cold_start_ms'] or 1e9) <= 300),
    ]
    print("\nTargets (goals, not assertions):")
    for name, ok in checks:
        print(f"  {'met ' if ok else 'MISS'}  {name}")
else:
    produced = [rows[f"rate_{r}"][side]["count"] > 0 for r in rates for side in ("direct", "passthrough", "gateway")]
    produced += [s["direct"]["count"] > 0, s["passthrough"]["count"] > 0, s["gateway"]["count"] > 0,
                 st["passthrough"]["ttfb"]["count"] > 0, one["passthrough"]["ttfb"]["count"] > 0, one["gateway"]["ttfb"]["count"] > 0, st["gateway"]["ttfb"]["count"] > 0,
                 fb["count"] > 0, rows["collection"]["gateway"]["count"] > 0,
                 rows["collection_fallback"]["gateway"]["count"] > 0, s["gateway"].get("cpu_us_per_request", 0) > 0, hold["rss_kb"] > 0, cold["cold_start_ms"] is not None]
    failed = produced.count(False)
    print(f"\nbench smoke: {len(produced) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
