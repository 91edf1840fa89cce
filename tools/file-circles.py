#!/usr/bin/env python3
"""Circles between the files of a layer (issue 18): inside each static
library given, file A points at file B when A's object calls a function (or
uses a variable) that B's object defines; a circle is a set of files that
reach each other (a strongly connected component of more than one file).
Prints each circle with the symbols on its arrows; exits 1 when there is
one outside the allowed ones.

    tools/file-circles.py build/libcrmsync*.a
    tools/file-circles.py --allow-crm-groups build/libcrmsync_connectors.a

--allow-crm-groups reports, without failing, a circle whose files all
belong to one CRM (hubspot*, salesforce*, adobe*): the connectors' own
circles, being taken apart under issue 18 by the connectors' owner.
Measured from the objects (nm), not the includes: a header included for a
type is no arrow, a call is."""
import collections
import os
import re
import subprocess
import sys


def arrows(lib):
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    defs, uses = {}, collections.defaultdict(set)
    for line in out.splitlines():
        head, _, rest = line.rpartition(":")
        obj = os.path.basename(head.split(":")[-1])
        parts = rest.split()
        if len(parts) == 2 and parts[0] == "U":
            uses[obj].add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRCVWG":
            defs[parts[2]] = obj
    edges = collections.defaultdict(set)
    for obj, syms in uses.items():
        for s in syms:
            if s in defs and defs[s] != obj:
                edges[obj].add((defs[s], s))
    return edges


def circles(edges):
    adj = {o: {t for t, _ in v} for o, v in edges.items()}
    nodes = sorted(set(adj) | {t for v in adj.values() for t in v})
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan, iterative enough for a library's few hundred files
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            if len(c) > 1:
                found.append(sorted(c))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return found


def one_crm(files):
    crms = {m.group(1) if m else None
            for m in (re.match(r"(hubspot|salesforce|adobe)", f) for f in files)}
    return len(crms) == 1 and None not in crms


def main(argv):
    allow_crm = "--allow-crm-groups" in argv
    libs = [a for a in argv if not a.startswith("--")]
    bad = 0
    for lib in libs:
        edges = arrows(lib)
        for c in circles(edges):
            allowed = allow_crm and one_crm(c)
            print("%s %s: %s" % ("allowed" if allowed else "CIRCLE", os.path.basename(lib),
                                 " ".join(f.removesuffix(".o") for f in c)))
            cs = set(c)
            for f in c:
                for t, s in sorted(edges[f]):
                    if t in cs:
                        print("    %s -> %s (%s)" % (f.removesuffix(".o"), t.removesuffix(".o"), s))
            bad += not allowed
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
