#!/usr/bin/env bash
# Fuzz the SCIM parsers: ./scripts/fuzz.sh [target] [seconds] [extra libFuzzer flags...]
#
#   target   a file in scim-gateway/fuzz/fuzz_targets/ without .rs: filter (default) or
#            patch_json or group_json
#   seconds  -max_total_time (default 60)
#
# Runs `cargo fuzz run <target> --sanitizer none` on the stable toolchain (no sanitizer,
# so no -Z flags and no nightly; panics, stack overflows, timeouts and OOMs are still
# caught), with a 2 GiB RSS limit and a 5 s per-input timeout. Installs cargo-fuzz when
# it is missing.
#
# The committed seed corpus (scim-gateway/fuzz/corpus/<target>/) is copied to a temporary
# directory and fuzzed there, so new corpus entries never land in the repository; libFuzzer
# also runs with that directory as its working directory (it writes fuzz-N.log there in
# -jobs mode). Set FUZZ_KEEP_CORPUS=/some/dir to keep the grown corpus. Crashing inputs go
# to scim-gateway/fuzz/artifacts/<target>/ (git-ignored).
#
# Exits 1 (libFuzzer's code) when the target crashes (panic, timeout, OOM, ...), 2 when
# the arguments are wrong or the target does not build.
#
# Examples:
#   ./scripts/fuzz.sh
#   ./scripts/fuzz.sh patch_json 300
#   nice -n 10 ./scripts/fuzz.sh filter 720 -workers=1 -jobs=1
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzz_dir="$repo_root/scim-gateway/fuzz"

target="${1:-filter}"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))

die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 2
}

[ -f "$fuzz_dir/fuzz_targets/$target.rs" ] ||
    die "unknown target '$target' (have: $(cd "$fuzz_dir/fuzz_targets" && ls -- *.rs | sed 's/\.rs$//' | tr '\n' ' '))"
[[ "$seconds" =~ ^[0-9]+$ ]] || die "seconds must be a whole number, got '$seconds'"

if ! cargo fuzz --version >/dev/null 2>&1; then
    printf '==== installing cargo-fuzz\n'
    cargo install cargo-fuzz --locked
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/scim-fuzz-$target.XXXXXX")
cleanup() {
    if [ -n "${FUZZ_KEEP_CORPUS:-}" ] && [ -d "$work/corpus" ]; then
        mkdir -p "$FUZZ_KEEP_CORPUS"
        cp -a "$work/corpus/." "$FUZZ_KEEP_CORPUS/"
        printf 'corpus kept in %s\n' "$FUZZ_KEEP_CORPUS"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/corpus"
if [ -d "$fuzz_dir/corpus/$target" ]; then
    cp -a "$fuzz_dir/corpus/$target/." "$work/corpus/"
fi
seeds=$(find "$work/corpus" -type f | wc -l)

# Build first, so a compile error is not reported as a crash.
cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer none "$target" ||
    die "building fuzz target '$target' failed"

printf '==== fuzzing %s for %ss (%s seeds, work dir %s)\n' "$target" "$seconds" "$seeds" "$work"
cd "$work"
status=0
cargo fuzz run --fuzz-dir "$fuzz_dir" --sanitizer none "$target" "$work/corpus" -- \
    -max_total_time="$seconds" \
    -rss_limit_mb=2048 \
    -timeout=5 \
    -print_final_stats=1 \
    "$@" || status=$?

printf '==== %s: corpus grew from %s to %s entries\n' \
    "$target" "$seeds" "$(find "$work/corpus" -type f | wc -l)"
if [ "$status" -ne 0 ]; then
    printf '==== %s FAILED (exit %s); crashing inputs are in %s/artifacts/%s/\n' \
        "$target" "$status" "$fuzz_dir" "$target" >&2
    exit "$status"
fi
printf '==== %s: no crash in %ss\n' "$target" "$seconds"
