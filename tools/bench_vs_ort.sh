#!/usr/bin/env bash
# Times cnngen's generated code and ONNX Runtime on the same networks in one run, alternating
# (ORT, cnngen, ORT, cnngen, ...), and prints a markdown table of the medians and their ratio.
#
#   tools/bench_vs_ort.sh [-threads N] [-rounds R] [-seconds S] NET...
#
# Needs the ONNX exports and ONNX Runtime of ../shared/anchors/README.md:
#   /usr/bin/python3 ../shared/anchors/export_models.py /tmp/anchors NET...
#   mkdir -p /tmp/ort && cd /tmp/ort && npm init -y && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0
# (ANCHORS=/tmp/anchors and ORT=/tmp/ort by default). Each tool runs R times per network, each
# time reporting the median of at least 5 timed runs after warm-up over S seconds; the table gives
# the median of those medians. Progress goes to stderr.
set -euo pipefail
threads=1 rounds=3 seconds=3
while [[ $# -gt 0 && $1 == -* ]]; do
	case $1 in
	-threads) threads=$2; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	-seconds) seconds=$2; shift 2 ;;
	*) echo "unknown flag $1" >&2; exit 2 ;;
	esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-threads N] [-rounds R] [-seconds S] NET..." >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
anchors=${ANCHORS:-/tmp/anchors} ort=${ORT:-/tmp/ort}
shared=$(cd "$repo/../shared/anchors" && pwd)
bin=$(mktemp -d)/cnngen
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd "$repo" && go build -o "$bin" ./cmd/cnngen)

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "| net | threads | ONNX Runtime ms | cnngen ms | cnngen / ORT | cnngen GFLOP/s | fraction of peak |"
echo "|---|---|---|---|---|---|---|"
for net in "$@"; do
	ortms=() ourms=() gf=() fr=()
	for ((r = 1; r <= rounds; r++)); do
		echo "$net: round $r/$rounds" >&2
		ortms+=("$(cd "$ort" && node "$shared/ort_bench.js" "$anchors/$net.onnx" "$threads" 1 "$seconds" | jq .ms_median)")
		j=$("$bin" bench -arch "$net" -threads "$threads" -seconds "$seconds" -json)
		ourms+=("$(jq .ms_median <<<"$j")") gf+=("$(jq .gflops <<<"$j")") fr+=("$(jq .fraction_of_peak <<<"$j")")
	done
	o=$(printf '%s\n' "${ortms[@]}" | median) c=$(printf '%s\n' "${ourms[@]}" | median)
	g=$(printf '%s\n' "${gf[@]}" | median) f=$(printf '%s\n' "${fr[@]}" | median)
	awk -v n="$net" -v t="$threads" -v o="$o" -v c="$c" -v g="$g" -v f="$f" \
		'BEGIN {printf "| %s | %d | %.3f | %.3f | %.2fx | %.0f | %.0f%% |\n", n, t, o, c, c/o, g, 100*f}'
done
