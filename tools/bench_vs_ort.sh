#!/usr/bin/env bash
# Times cnngen's generated code and ONNX Runtime on the same networks in one run, alternating
# (ORT, cnngen, ORT, cnngen, ...), and prints a markdown table of the medians and their ratio.
#
#   tools/bench_vs_ort.sh [-threads N] [-batch B] [-rounds R] [-seconds S] NET|MODEL.onnx...
#
# NET is a built-in network, timed on ANCHORS/NET.onnx by ONNX Runtime and in-process by
# `cnngen bench -arch NET` (seeded weights). MODEL.onnx is any ONNX image classifier, timed by
# both on that file: cnngen generates it once (`cnngen bench -onnx MODEL.onnx -keep DIR`), builds
# the kept benchmark program and runs it each round, so no round pays for the build. Its table
# row is named after the file (its folder's name when the file is model.onnx, as
# tools/export_torchvision.py writes them).
#
# Needs the ONNX exports and ONNX Runtime of ../shared/anchors/README.md:
#   /usr/bin/python3 ../shared/anchors/export_models.py /tmp/anchors NET...
#   mkdir -p /tmp/ort && cd /tmp/ort && npm init -y && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0
# (ANCHORS=/tmp/anchors and ORT=/tmp/ort by default). ONNX Runtime runs through tools/ort_bench.js
# (the anchors' script, with the input shape read from the model). Each tool runs R times per
# network, each time reporting the median of at least 5 timed runs after warm-up over S seconds;
# the table gives the median of those medians, in ms per Forward call of B images, and the
# ratio of cnngen's time to ONNX Runtime's (at B > 1, the inverse of the images/s ratio); then
# the same for the process CPU time per image (each tool's whole process, every thread), which
# leaves out the time other processes held the cores: on a loaded machine the one-thread CPU
# ratio is the steadier one (with several threads it also counts idle workers' polling).
# Progress goes to stderr, with the load average before each network.
set -euo pipefail
threads=1 batch=1 rounds=3 seconds=3
while [[ $# -gt 0 && $1 == -* ]]; do
	case $1 in
	-threads) threads=$2; shift 2 ;;
	-batch) batch=$2; shift 2 ;;
	-rounds) rounds=$2; shift 2 ;;
	-seconds) seconds=$2; shift 2 ;;
	*) echo "unknown flag $1" >&2; exit 2 ;;
	esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [-threads N] [-batch B] [-rounds R] [-seconds S] NET|MODEL.onnx..." >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
anchors=${ANCHORS:-/tmp/anchors} ort=${ORT:-/tmp/ort}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/cnngen
(cd "$repo" && go build -o "$bin" ./cmd/cnngen)

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "| net | threads | batch | ONNX Runtime ms | cnngen ms | cnngen / ORT | CPU ms/image ORT | cnngen | CPU cnngen / ORT | cnngen GFLOP/s | fraction of peak |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for net in "$@"; do
	if [[ $net == *.onnx ]]; then
		model=$(cd "$(dirname "$net")" && pwd)/$(basename "$net")
		name=$(basename "$net" .onnx)
		[[ $name == model ]] && name=$(basename "$(dirname "$(dirname "$model")")")
		echo "$name: generating and building" >&2
		"$bin" bench -onnx "$model" -keep "$tmp/$name" -seconds 0 >/dev/null
		(cd "$tmp/$name" && go build -o prog .)
		ours=("$tmp/$name/prog" -weights "$tmp/$name/weights.safetensors")
	else
		model=$anchors/$net.onnx name=$net
		ours=("$bin" bench -arch "$net")
	fi
	echo "$name: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	ortms=() ourms=() ortcpu=() ourcpu=() gf=() fr=()
	for ((r = 1; r <= rounds; r++)); do
		echo "$name: round $r/$rounds" >&2
		o=$(cd "$ort" && node "$repo/tools/ort_bench.js" "$model" "$threads" "$batch" "$seconds")
		ortms+=("$(jq .ms_median <<<"$o")") ortcpu+=("$(jq .cpu_ms_per_image <<<"$o")")
		j=$("${ours[@]}" -threads "$threads" -batch "$batch" -seconds "$seconds" -json)
		ourms+=("$(jq .ms_median <<<"$j")") ourcpu+=("$(jq .cpu_ms_per_image <<<"$j")")
		gf+=("$(jq .gflops <<<"$j")") fr+=("$(jq .fraction_of_peak <<<"$j")")
	done
	o=$(printf '%s\n' "${ortms[@]}" | median) c=$(printf '%s\n' "${ourms[@]}" | median)
	oc=$(printf '%s\n' "${ortcpu[@]}" | median) cc=$(printf '%s\n' "${ourcpu[@]}" | median)
	g=$(printf '%s\n' "${gf[@]}" | median) f=$(printf '%s\n' "${fr[@]}" | median)
	awk -v n="$name" -v t="$threads" -v b="$batch" -v o="$o" -v c="$c" -v oc="$oc" -v cc="$cc" -v g="$g" -v f="$f" \
		'BEGIN {printf "| %s | %d | %d | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.0f | %.0f%% |\n", n, t, b, o, c, c/o, oc, cc, cc/oc, g, 100*f}'
done
