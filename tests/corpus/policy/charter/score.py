#!/usr/bin/env python3
"""Per-section scores of `lighthouse policy eval --json FILE` output (stdin).

Usage: lighthouse policy eval --json tests/corpus/policy/charter.jsonl | score.py
Prints, per charter section (the `class` before `/`) and per expect label, passed/total,
plus how many deny-labelled calls were escalated instead (the severity failure).
"""
import json
import sys
from collections import defaultdict

sec = defaultdict(lambda: [0, 0])
kind = defaultdict(lambda: [0, 0])
lab = defaultdict(lambda: [0, 0])
deny_as_ask = 0
wrong = []
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if "expect" not in r or "ok" not in r:
        continue
    cls = r.get("class", "-")
    s = cls.split("/")[0]
    ok = 1 if r["ok"] else 0
    for d, k in ((sec, s), (kind, cls), (lab, r["expect"])):
        d[k][0] += ok
        d[k][1] += 1
    if r["expect"] == "deny" and r["verdict"] == "escalate":
        deny_as_ask += 1
    if not ok:
        wrong.append(f'line {r["line"]} [{cls}] expected {r["expect"]} got {r["verdict"]} ({r.get("rule_id")})')


def order(k):
    head = k[0]
    num = "".join(c for c in k if c.isdigit())
    return ({"D": 0, "E": 1, "A": 2, "T": 3}.get(head, 4), int(num) if num else 0, k)


print("per section:")
for k in sorted(sec, key=order):
    p, t = sec[k]
    print(f"  {k:<5} {p:>4}/{t:<4} {100 * p / t:5.1f}%")
print("per label:")
for k in sorted(lab):
    p, t = lab[k]
    print(f"  {k:<10} {p:>4}/{t:<4} {100 * p / t:5.1f}%")
print(f"deny-class calls answered 'ask': {deny_as_ask}")
if "-v" in sys.argv:
    print("per class:")
    for k in sorted(kind, key=order):
        p, t = kind[k]
        print(f"  {k:<14} {p:>4}/{t:<4}")
    for w in wrong:
        print("  WRONG", w)
