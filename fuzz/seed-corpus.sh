#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the test cases and examples. Files are
# named by content hash, as libFuzzer does, so seeding twice adds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
put() { # target file
  mkdir -p "fuzz/corpus/$1"
  cp "$2" "fuzz/corpus/$1/$(sha1sum "$2" | cut -c1-40)"
}
inputs() { find tests/cases examples -type f \( -name "$1" \) ! -name 'expected*' ! -name 'compiled*' ! -name 'tmp.txt'; }
for f in $(inputs '*.cfg'); do put lint_cfg "$f"; put fmt_round_trip "$f"; put compiled_round_trip "$f"; done
for f in $(inputs '*.json'); do put lint_json "$f"; put compiled_round_trip "$f"; done
for f in $(inputs '*.yaml'); do put lint_yaml "$f"; put compiled_round_trip "$f"; done
tmp=$(mktemp)
for f in $(inputs '*.cfg'); do
  { grep -h '^service-client-api.accepted-web-content-origins=' "$f" || true; } | sed 's/^[^=]*=//' | while IFS= read -r v; do
    printf '%s' "$v" > "$tmp"; put origin_list "$tmp"
  done
done
for d in tests/cases/eval/*/; do
  if [ -f "$d/policy.cfg" ] && [ -f "$d/requests.jsonl" ]; then
    { cat "$d/policy.cfg"; printf '\n===\n'; cat "$d/requests.jsonl"; } > "$tmp"; put eval "$tmp"
  fi
done
rm -f "$tmp"
# Inputs that once found a bug.
for d in fuzz/regressions/*/; do
  t=$(basename "$d")
  for f in "$d"*; do put "$t" "$f"; done
done
