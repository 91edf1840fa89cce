#!/usr/bin/env python3
"""Functions longer than a bound (default 80 lines, issue 18), from the
opening line of the definition to its closing brace, in the C files given
(or src/ state/ connectors/ when none). A function whose leading comment
says why it stays long ("Long:" in the comment) is listed apart.

    tools/long-functions.py [--max 80] [files...]"""
import glob
import re
import sys


def functions(path):
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^[a-z][^;(]*?\b(\w+)\(", lines[i])
        if m and not lines[i].rstrip().endswith(";"):
            k = i
            while k < len(lines) and not lines[k].startswith("{") and not lines[k].rstrip().endswith(";"):
                k += 1
            if k < len(lines) and lines[k].startswith("{"):
                e = k
                while not lines[e].startswith("}"):
                    e += 1
                c = i
                while c > 0 and (lines[c - 1].startswith("/*") or lines[c - 1].startswith(" *")):
                    c -= 1
                yield m.group(1), i + 1, e - i + 1, "long:" in "\n".join(lines[c:i]).lower()
                i = e
        i += 1


def main(argv):
    bound = 80
    if argv[:1] == ["--max"]:
        bound, argv = int(argv[1]), argv[2:]
    files = argv or sorted(glob.glob("src/**/*.c", recursive=True) + glob.glob("state/**/*.c", recursive=True)
                           + glob.glob("connectors/*.c"))
    rows = [(n, f, name, line, why) for f in files for name, line, n, why in functions(f) if n > bound]
    for n, f, name, line, why in sorted(rows, reverse=True):
        print("%4d %s:%d %s%s" % (n, f, line, name, "  (reason given)" if why else ""))
    print("%d function(s) over %d lines, %d without a reason" % (len(rows), bound, sum(not r[4] for r in rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
