#!/usr/bin/env bash
# The rules that run (STYLE.md 14): every tracked C file is formatted with the
# checked-in .clang-format. Prints the files that are not and exits 1.
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
exit "$bad"
