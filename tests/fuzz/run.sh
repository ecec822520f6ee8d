#!/bin/sh
# run.sh CC FLAGS LIBSRCS LIBS SECONDS TARGET... - build each libFuzzer target
# in tests/fuzz/build and run it for SECONDS on its corpus; prints one line of
# exec counts per target and fails on the first crash (its input is kept in
# tests/fuzz/build/).  A target that needs more than LIBSRCS names the extra
# sources on a line " * fuzz-links: FILE..." of its own source.  Run from the
# build directory (make fuzz).
set -eu
cc=$1 flags=$2 libsrcs=$3 libs=$4 secs=$5; shift 5
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
out=tests/fuzz/build
mkdir -p "$out"
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (install clang and libclang-rt-14-dev)"; exit 77; }
for t in "$@"; do
    srcs=""
    extra=$(sed -n 's/^ \* fuzz-links: //p' "$src/tests/fuzz/$t.c")
    for s in $libsrcs $extra; do srcs="$srcs $src/$s"; done
    # shellcheck disable=SC2086
    $cc $flags -o "$out/$t" "$src/tests/fuzz/$t.c" $srcs $libs
    corpus=$out/corpus-$t
    mkdir -p "$corpus"
    for seed in "$src/tests/fuzz/corpus/$t"/* "$src"/tests/unit/data/*; do
        [ -f "$seed" ] && cp "$seed" "$corpus/" 2>/dev/null || true
    done
    (cd "$out" && "./$t" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "corpus-$t" \
        >"$t.log" 2>&1) || { echo "fuzz: $t FAILED, see $out/$t.log"; tail -30 "$out/$t.log"; exit 1; }
    # A target that cannot run here (fuzz_devices without root) says "SKIP: why" and exits 0.
    if grep -q 'SKIP:' "$out/$t.log"; then
        echo "fuzz: $t skipped: $(grep -m1 'SKIP:' "$out/$t.log" | sed 's/.*SKIP: //')"
        continue
    fi
    echo "fuzz: $t $(grep -m1 'stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}') execs in ${secs}s, no crash"
done
