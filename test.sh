#!/usr/bin/env bash
# The project's whole test suite: what CI runs (.ci/run) and what a developer runs before pushing.
set -euo pipefail
cd "$(dirname "$0")"

# Each step prints the seconds so far, so CI logs show what the 30-minute budget goes to.
step() { printf '\n== %s (at %ds)\n' "$*" "$SECONDS"; }

# Missing tools fail here, at once, rather than as a skipped or failed step minutes in.
step "prerequisites"
if ! command -v qemu-aarch64 >/dev/null; then
  echo "qemu-aarch64 not found: install Debian's qemu-user (.ci/run does) to run the arm64 tests"
  exit 1
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "not a git checkout: the go generate step needs git status to see what it changed"
  exit 1
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go') | grep -v '^generated/' || true)
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

step "go vet"
go vet ./...

step "builds: purego and arm64"
go build -tags purego ./...
GOARCH=arm64 go build ./...

step "go test"
go test -count=1 ./...

step "kernels and goldens at the lower ISA levels (the machine's best ran above)"
for isa in generic avx2; do
  CNNGEN_ISA=$isa go test -count=1 ./runtime/kernels
  CNNGEN_ISA=$isa go test -count=1 -run 'TestGoldens' ./internal/zoo
done

step "kernels and goldens on arm64 under qemu-aarch64 (no assembly there: the pure-Go kernels are the only path)"
# Unlike CNNGEN_ISA=generic above, this is the compiler arm64 users get, which fuses
# multiply-adds into FMA instructions; about 5 minutes on 2 cores (kernels 1, goldens 4).
GOARCH=arm64 go test -exec qemu-aarch64 -count=1 -timeout 25m ./runtime/kernels
GOARCH=arm64 go test -exec qemu-aarch64 -count=1 -timeout 25m -run 'TestGoldens' ./internal/zoo

step "race detector on concurrent Forward calls"
go test -race -count=1 -run 'TestConcurrentForward' ./internal/zoo
go test -race -count=1 -run 'SplitIsExact|LoadParallel' ./runtime

step "go generate leaves the tree unchanged"
go generate ./...
(cd examples/classify && go generate ./... && go vet ./...)
if [ -n "$(git status --porcelain -- generated examples/classify runtime/kernels)" ]; then
  git status --porcelain -- generated examples/classify runtime/kernels
  echo "go generate changed the tree: regenerate and commit"; exit 1
fi

step "fuzz (short)"
# Budgets are execution counts, not durations: with -fuzztime 15s, Go 1.26's coordinator can
# report a bare "context deadline exceeded" failure when the deadline races a worker
# (go.dev/issue/75804). FUZZ_SCALE multiplies every count (FUZZ_SCALE=20 ./test.sh for longer).
scale=${FUZZ_SCALE:-1}
fuzz() { go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$(($3 * scale))x"; }
fuzz ./gen/spec FuzzParse 100000
fuzz ./runtime FuzzOpenSafetensors 200000
fuzz ./runtime FuzzOpenPth 200000
fuzz ./gen/onnx FuzzParse 200000
fuzz ./gen/onnx FuzzPlan 20000
fuzz ./internal/dataset FuzzReadIDX 20000

step "done"
