#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: builds every cargo fuzz target with
# optimisations and copies each binary to $OUT, beside its seed corpus
# ($OUT/<target>_seed_corpus.zip: fuzz/corpus/<target>/, and for vector_parse the
# committed vector files), its dictionary ($OUT/<target>.dict) and its libFuzzer options
# ($OUT/<target>.options) where there are any.
#
# Runs inside the builder image (SRC and OUT set by it), and in CI without Docker
# (ci/clusterfuzzlite-check sets SRC and OUT to temporary folders and BUILD=0 to reuse the
# binaries the fuzz smoke just built).
PROJECT="$SRC/ratchet-bench"
HERE="$PROJECT/ci/clusterfuzzlite"
cd "$PROJECT"

TARGETS=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^ratchet-bench-fuzz$')

# The builder image's cargo is nightly; elsewhere fall back as ci/fuzz-smoke does.
if cargo +nightly --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
if [ "${BUILD:-1}" != 0 ]; then
    # The cryptographic primitives without coverage hooks, as in ci/fuzz-smoke. A job's
    # sanitizer is the workflow's, for every target, and its bad-build check wants every
    # binary instrumented: the sanitizer stays on every crate (ci/fuzz-rustc).
    (cd fuzz && RUSTC_WRAPPER="$PROJECT/ci/fuzz-rustc" FUZZ_SANITIZE_EVERY_CRATE=1 "${fuzz[@]}" build -O)
fi

# cargo puts the binaries under CARGO_TARGET_DIR when it is set, else under fuzz/target.
BIN="${CARGO_TARGET_DIR:-fuzz/target}/x86_64-unknown-linux-gnu/release"

# zip, or Python's zipfile where zip is missing (CI hosts without it).
zip_dir() { # zip_dir OUT.zip FILE...
    local out=$1
    shift
    if command -v zip >/dev/null 2>&1; then
        zip -q -j "$out" "$@"
    else
        python3 -c 'import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "a") as z:
    for f in sys.argv[2:]:
        z.write(f, os.path.basename(f))' "$out" "$@"
    fi
}

for target in $TARGETS; do
    cp "$BIN/$target" "$OUT/"
    seeds=()
    if [ -d "fuzz/corpus/$target" ]; then
        while IFS= read -r -d '' f; do seeds+=("$f"); done \
            < <(find "fuzz/corpus/$target" -type f -print0 | sort -z)
    fi
    if [ "$target" = vector_parse ]; then
        # Every committed vector file is a valid input to one of the loaders.
        while IFS= read -r -d '' f; do seeds+=("$f"); done \
            < <(find vectors -name '*.json' -type f -print0 | sort -z)
    fi
    if [ "${#seeds[@]}" -gt 0 ]; then
        rm -f "$OUT/${target}_seed_corpus.zip"
        # Names are flattened: prefix each with its folder so that none collide.
        stage=$(mktemp -d)
        for f in "${seeds[@]}"; do
            cp "$f" "$stage/$(echo "$f" | tr '/' '_')"
        done
        zip_dir "$OUT/${target}_seed_corpus.zip" "$stage"/*
        rm -rf "$stage"
    fi
    if [ -f "$HERE/$target.dict" ]; then
        cp "$HERE/$target.dict" "$OUT/"
    fi
    # libFuzzer's flags for the target (max_len for the scenario targets).
    if [ -f "$HERE/$target.options" ]; then
        cp "$HERE/$target.options" "$OUT/"
    fi
done
