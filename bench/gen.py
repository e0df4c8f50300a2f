#!/usr/bin/env python3
"""Generate DAG documents for the dagkit benchmarks, and convert them.

Everything is written to stdout and is deterministic (seed 42, or the
value of GEN_SEED).

  gen.py wide N                      N independent steps running "true"
  gen.py chain N                     each step needs the previous one
  gen.py lattice LAYERS WIDTH K [--sleep-max S [--long F L]]
                                     each step needs K distinct random steps
                                     of the layer before; with --sleep-max,
                                     run "sleep X" with X in [0, S] (2
                                     decimals) and "x-estimate": X; with
                                     --long, a fraction F of the steps
                                     (drawn at random) sleep X in [L/2, L]
                                     instead, and X has 3 decimals
  gen.py random N E                  N steps, about E needs in total, each
                                     need an earlier step among the previous
                                     1000, no duplicates
  gen.py exprs N                     like chain N, every step after the first
                                     has "when": ".steps.<prev>.status ==
                                     \"succeeded\""
  gen.py sleepy N                    N steps of "sleep 0.01" in a random DAG,
                                     each needing up to 2 earlier steps
  gen.py edges FILE                  "need step" pairs, one per line (input
                                     of tsort); a step without needs is
                                     written "step step" so tsort sees it
  gen.py makefile FILE               an equivalent Makefile (.PHONY targets)
  gen.py ninja FILE                  an equivalent build.ninja
  gen.py bound FILE JOBS [RUNJSON]   "critical-path work bound" in seconds,
                                     bound = max(critical path, work /
                                     JOBS); a step lasts its x-estimate,
                                     else X of "sleep X", else 0, or with
                                     RUNJSON (dag-run --json) the duration
                                     that run recorded
  gen.py simulate FILE JOBS [START]  list-schedule FILE (x-estimate as the
                                     duration, plus START seconds of
                                     start-up per step, default 0.0006) on
                                     JOBS slots, by critical path and by
                                     declaration order; prints both
                                     makespans and the bound max(critical
                                     path, work / JOBS)

Step ids are s0, s1, ... in order (every need points to an earlier step).
"""

import heapq
import json
import os
import random
import re
import shlex
import sys

SEED = int(os.environ.get("GEN_SEED", "42"))
WINDOW = 1000   # "random": needs point into the previous WINDOW steps


def sid(i):
    return "s%d" % i


def step(i, run="true", needs=None):
    s = {"id": sid(i), "run": run}
    if needs:
        s["needs"] = [sid(n) for n in needs]
    return s


def emit(name, steps):
    out = sys.stdout
    out.write('{"name": %s, "steps": [\n' % json.dumps(name))
    last = len(steps) - 1
    for i, s in enumerate(steps):
        out.write(json.dumps(s, separators=(", ", ": ")))
        out.write(",\n" if i < last else "\n")
    out.write("]}\n")


def gen_wide(n):
    return [step(i) for i in range(n)]


def gen_chain(n):
    return [step(i, needs=[i - 1] if i else None) for i in range(n)]


def gen_lattice(layers, width, k, sleep_max=None, long_frac=0.0,
                long_max=0.0):
    rng = random.Random(SEED)
    k = min(k, width)
    steps = []
    for layer in range(layers):
        base = layer * width
        for j in range(width):
            needs = None
            if layer:
                prev = base - width
                needs = sorted(rng.sample(range(prev, base), k))
            if sleep_max is None:
                steps.append(step(base + j, needs=needs))
            else:
                if long_frac and rng.random() < long_frac:
                    x = round(rng.uniform(long_max / 2, long_max), 3)
                else:
                    x = round(rng.uniform(0, sleep_max), 3 if long_frac else 2)
                s = step(base + j, run="sleep %g" % x, needs=needs)
                s["x-estimate"] = x
                steps.append(s)
    return steps


def gen_random(n, e):
    """About e needs: each step i >= 1 gets e/(n-1) on average (rounded at
    random), capped by the number of steps it may point to."""
    rng = random.Random(SEED)
    avg = e / (n - 1) if n > 1 else 0.0
    whole, frac = int(avg), avg - int(avg)
    steps = [step(0)] if n else []
    for i in range(1, n):
        lo = max(0, i - WINDOW)
        k = whole + (1 if rng.random() < frac else 0)
        k = min(k, i - lo)
        steps.append(step(i, needs=sorted(rng.sample(range(lo, i), k))))
    return steps


def gen_exprs(n):
    steps = []
    for i in range(n):
        s = step(i, needs=[i - 1] if i else None)
        if i:
            s["when"] = '.steps.%s.status == "succeeded"' % sid(i - 1)
        steps.append(s)
    return steps


def gen_sleepy(n):
    rng = random.Random(SEED)
    steps = []
    for i in range(n):
        k = rng.randint(0, min(2, i))
        steps.append(step(i, run="sleep 0.01",
                          needs=sorted(rng.sample(range(i), k))))
    return steps


# --- simulation ------------------------------------------------------------

def need_lists(steps):
    index = {s["id"]: i for i, s in enumerate(steps)}
    return [[index[d] for d in s.get("needs") or []] for s in steps]


def finish_times(needs, dur):
    """Earliest finish of each step with unbounded slots; needs point to
    earlier steps (as gen.py writes them)."""
    fin = [0.0] * len(dur)
    for i, ns in enumerate(needs):
        fin[i] = dur[i] + max((fin[d] for d in ns), default=0.0)
    return fin


def bound(path, jobs, runjson=None):
    _, steps = load(path)
    meas = None
    if runjson is not None:
        with open(runjson, encoding="utf-8") as f:
            meas = json.load(f)["steps"]

    def dur(s):
        if meas is not None:
            return float(meas[s["id"]]["duration"] or 0)
        if "x-estimate" in s:
            return float(s["x-estimate"])
        m = re.match(r"^\s*sleep\s+([0-9.]+)\s*$", s.get("run", ""))
        return float(m.group(1)) if m else 0.0

    durs = [dur(s) for s in steps]
    cp = max(finish_times(need_lists(steps), durs), default=0.0)
    work = sum(durs)
    print("%.6f %.6f %.6f" % (cp, work, max(cp, work / jobs)))


def simulate(path, jobs, start):
    _, steps = load(path)
    n = len(steps)
    dur = [float(s.get("x-estimate", 1)) + start for s in steps]
    needs = need_lists(steps)
    kids = [[] for _ in range(n)]
    for i, ns in enumerate(needs):
        for d in ns:
            kids[d].append(i)
    rank = [0.0] * n
    for i in range(n - 1, -1, -1):      # needs point to earlier steps
        rank[i] = dur[i] + max((rank[k] for k in kids[i]), default=0.0)

    def run(prio):
        left = [len(ns) for ns in needs]
        ready = [(prio[i], i) for i in range(n) if not left[i]]
        heapq.heapify(ready)
        busy, t = [], 0.0
        while ready or busy:
            while ready and len(busy) < jobs:
                _, i = heapq.heappop(ready)
                heapq.heappush(busy, (t + dur[i], i))
            t, i = heapq.heappop(busy)
            for k in kids[i]:
                left[k] -= 1
                if not left[k]:
                    heapq.heappush(ready, (prio[k], k))
        return t

    cp = run([(-rank[i], i) for i in range(n)])
    decl = run([(i,) for i in range(n)])
    lb = max(max(finish_times(needs, dur), default=0.0), sum(dur) / jobs)
    print("critical-path %.3f declaration %.3f bound %.3f "
          "declaration/critical-path %.3f critical-path/bound %.3f"
          % (cp, decl, lb, decl / cp if cp else 0, cp / lb if lb else 0))


# --- conversions ---------------------------------------------------------

def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    steps = doc.get("steps")
    if not isinstance(steps, list):
        sys.exit("gen.py: %s: no \"steps\" array" % path)
    return doc, steps


def command_of(s):
    """The shell command of a step: run, argv quoted, or a no-op."""
    if "run" in s:
        return s["run"]
    if "argv" in s:
        return shlex.join(s["argv"])
    return ":"          # a transform step has no command to run


SAFE_ID = re.compile(r"^[A-Za-z0-9_.+-]+$")


def check_id(tool, i):
    if not SAFE_ID.match(i):
        sys.exit("gen.py: %s: step id %r cannot be a target" % (tool, i))
    return i


def one_line(tool, cmd, i):
    if "\n" in cmd:
        sys.exit("gen.py: %s: step %s: multi-line command" % (tool, i))
    return cmd


def to_edges(path):
    _, steps = load(path)
    out = []
    for s in steps:
        needs = s.get("needs") or []
        if not needs:
            out.append("%s %s\n" % (s["id"], s["id"]))
        for n in needs:
            out.append("%s %s\n" % (n, s["id"]))
    sys.stdout.write("".join(out))


def to_makefile(path):
    _, steps = load(path)
    ids = [check_id("makefile", s["id"]) for s in steps]
    w = sys.stdout.write
    w("# Generated by bench/gen.py makefile %s; every target is phony,\n"
      "# so every recipe runs on each invocation.\n" % path)
    w(".SILENT:\n")
    w(".PHONY: all %s\n" % " ".join(ids))
    w("all: %s\n" % " ".join(ids))
    for s in steps:
        needs = [check_id("makefile", n) for n in s.get("needs") or []]
        cmd = one_line("makefile", command_of(s), s["id"])
        w("%s:%s\n\t%s\n" % (s["id"], "".join(" " + n for n in needs),
                              cmd.replace("$", "$$")))


def to_ninja(path):
    _, steps = load(path)
    w = sys.stdout.write
    w("# Generated by bench/gen.py ninja %s.\n"
      "# No command creates its output, so ninja runs every command on each\n"
      "# invocation; run it in a fresh empty directory each time anyway so\n"
      "# no .ninja_log from an earlier run is consulted.\n" % path)
    w("rule r\n  command = $cmd\n\n")
    ids = []
    for s in steps:
        i = check_id("ninja", s["id"])
        ids.append(i)
        needs = [check_id("ninja", n) for n in s.get("needs") or []]
        cmd = one_line("ninja", command_of(s), i)
        w("build %s: r%s\n  cmd = %s\n" % (
            i, (" | " + " ".join(needs)) if needs else "",
            cmd.replace("$", "$$")))
    w("\nbuild all: phony %s\ndefault all\n" % " ".join(ids))


# --- command line --------------------------------------------------------

def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def ints(args, n):
    if len(args) != n:
        usage()
    try:
        v = [int(a) for a in args]
    except ValueError:
        usage()
    if any(x < 0 for x in v):
        usage()
    return v


def main(argv):
    if len(argv) < 2:
        usage()
    cmd, args = argv[1], argv[2:]
    if cmd == "wide":
        (n,) = ints(args, 1)
        emit("wide-%d" % n, gen_wide(n))
    elif cmd == "chain":
        (n,) = ints(args, 1)
        emit("chain-%d" % n, gen_chain(n))
    elif cmd == "lattice":
        sleep_max = None
        if "--sleep-max" in args:
            at = args.index("--sleep-max")
            try:
                sleep_max = float(args[at + 1])
            except (IndexError, ValueError):
                usage()
            if sleep_max < 0:
                usage()
            args = args[:at] + args[at + 2:]
        long_frac = long_max = 0.0
        if "--long" in args:
            at = args.index("--long")
            try:
                long_frac = float(args[at + 1])
                long_max = float(args[at + 2])
            except (IndexError, ValueError):
                usage()
            if sleep_max is None or not 0 <= long_frac <= 1 or long_max < 0:
                usage()
            args = args[:at] + args[at + 3:]
        layers, width, k = ints(args, 3)
        if layers and not width:
            usage()
        emit("lattice-%dx%d-k%d" % (layers, width, k),
             gen_lattice(layers, width, k, sleep_max, long_frac, long_max))
    elif cmd == "random":
        n, e = ints(args, 2)
        emit("random-%d-%d" % (n, e), gen_random(n, e))
    elif cmd == "exprs":
        (n,) = ints(args, 1)
        emit("exprs-%d" % n, gen_exprs(n))
    elif cmd == "sleepy":
        (n,) = ints(args, 1)
        emit("sleepy-%d" % n, gen_sleepy(n))
    elif cmd in ("edges", "makefile", "ninja"):
        if len(args) != 1:
            usage()
        {"edges": to_edges, "makefile": to_makefile,
         "ninja": to_ninja}[cmd](args[0])
    elif cmd == "bound":
        if len(args) not in (2, 3):
            usage()
        try:
            jobs = int(args[1])
        except ValueError:
            usage()
        if jobs < 1:
            usage()
        bound(args[0], jobs, args[2] if len(args) == 3 else None)
    elif cmd == "simulate":
        if len(args) not in (2, 3):
            usage()
        try:
            jobs = int(args[1])
            start = float(args[2]) if len(args) == 3 else 0.0006
        except ValueError:
            usage()
        if jobs < 1 or start < 0:
            usage()
        simulate(args[0], jobs, start)
    else:
        usage()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except BrokenPipeError:
        sys.exit(1)
