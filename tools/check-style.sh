#!/usr/bin/env bash
# The rules that run (STYLE.md 14): every tracked C file is formatted with the
# checked-in .clang-format, and src/ connectors/ state/ bench/ and the
# simulators (tests/sim/) hold none of the banned calls nor an assignment
# inside a condition (tools/check-banned.pl).
# Prints what is wrong and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted (run clang-format -i $f)"
        bad=1
    fi
done < <(git ls-files '*.c' '*.h')
[ "$bad" = 0 ] && echo "style: formatting clean"
mapfile -t banned_scope < <(git ls-files 'src/*.[ch]' 'connectors/*.[ch]' 'state/*.[ch]' 'bench/*.[ch]' 'tests/sim/*.[ch]')
if perl tools/check-banned.pl "${banned_scope[@]}"; then
    echo "style: no banned calls, no assignment inside a condition"
else
    bad=1
fi
exit "$bad"
