#!/usr/bin/env bash
# Peak RSS of every command on the full-size networks (README "Real networks", the memory table): each command under
# /usr/bin/time -v at the launcher's defaults, on random crops of the photos config/real-networks.sh gathers, then one
# table (atlas-output/real-memory/memory.md). Run config/real-networks.sh first (it makes the fixtures and photos).
#
#   config/real-memory.sh                         # all four networks, 10 crops per photo (810 samples), 16 steps
#   NETS="resnet50" CROPS=25 STEPS=128 config/real-memory.sh
#
# Memory is bounded by the batch, not by the dataset or the steps (measured: a full GoogLeNet run's RSS stays flat
# through 128 steps), so the defaults here are small to keep this under an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
FIX=${FIX:-target/onnx-fixtures}
PHOTOS=${PHOTOS:-atlas-output/real/photos}
OUT=${OUT:-atlas-output/real-memory}
NETS=${NETS:-googlenet mobilenet_v2 inception_v3 resnet50}
CROPS=${CROPS:-10}
STEPS=${STEPS:-16}
SEED=${SEED:-42}
SKIP=${SKIP:-}              # commands to leave out, e.g. SKIP="run collect" when their outputs are there

command -v /usr/bin/time >/dev/null || { echo "real-memory: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
[[ -d "$PHOTOS" ]] || { echo "real-memory: no photos in $PHOTOS: run config/real-networks.sh first" >&2; exit 2; }

other_layer() {
  case $1 in
    googlenet) echo inception3b ;; mobilenet_v2) echo features.6 ;; inception_v3) echo Mixed_5d ;; resnet50) echo layer2 ;;
    *) echo "real-memory: no second layer known for $1" >&2; exit 2 ;;
  esac
}

# two labelled folders for patch-test (its test images need labels): the photos split in halves; with no class names
# in the card, folder a is class 0 and b class 1
lab="$OUT/labelled"
mkdir -p "$lab/a" "$lab/b"
i=0
for f in "$PHOTOS"/*; do
  d=$([[ $((i % 2)) -eq 0 ]] && echo a || echo b)
  ln -sf "$(realpath "$f")" "$lab/$d/$(basename "$f")"
  i=$((i + 1))
done
mkdir -p "$OUT/explain-photos"
ls "$PHOTOS" | head -n 8 | while read -r f; do ln -sf "$(realpath "$PHOTOS/$f")" "$OUT/explain-photos/$f"; done

table="$OUT/memory.md"
mkdir -p "$OUT/logs"
echo "| net | command | wall | peak RSS |" > "$table.tmp"
echo "|---|---|---|---|" >> "$table.tmp"
measure() { # measure NET LABEL command...
  local net=$1 label=$2; shift 2
  [[ " $SKIP " == *" ${label%% *} "* ]] && return 0
  local log="$OUT/logs/$net-${label// /_}"
  echo "== $net $label"
  if ! /usr/bin/time -v -o "$log.time" "$@" > "$log" 2>&1; then
    echo "real-memory: $net $label failed, see $log" >&2
    tail -3 "$log" >&2
  fi
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log.time")
  rss=$(awk '/Maximum resident set size/ {printf "%.2f GB", $6 / 1048576}' "$log.time")
  echo "| $net | $label | $wall | $rss |" | tee -a "$table.tmp"
}

for n in $NETS; do
  model="$FIX/$n.onnx"
  [[ -f "$model" ]] || { echo "real-memory: $model is missing: run config/real-networks.sh first" >&2; exit 2; }
  common=(--model "$model" --images "$PHOTOS" --crops-per-image "$CROPS" --seed "$SEED" --output "$OUT" --name "$n")
  measure "$n" "run" ./atlas run "${common[@]}" --grid 10 --threshold 8 --steps "$STEPS" --force
  measure "$n" "collect --attribution" ./atlas collect "${common[@]}" --attribution --force
  # the classes most samples were predicted as (random weights: any two classes show the mechanics)
  read -r c1 c2 < <(awk -F, 'NR > 1 {n[$3]++} END {for (k in n) print n[k], k}' "$OUT/$n/collect/samples.csv" \
    | sort -rn | head -2 | awk '{printf "%s ", $2} END {print ""}')
  measure "$n" "class-atlas" ./atlas class-atlas "${common[@]}" --class "$c1" --steps "$STEPS"
  measure "$n" "compare" ./atlas compare "${common[@]}" --classes "$c1,$c2" --steps "$STEPS"
  measure "$n" "compare-layers" ./atlas compare-layers "${common[@]}" --layers "$(other_layer "$n"),$(./atlas layers --model "$model" | awk '/yes \(default\)/ {print $2; exit}')" --steps "$STEPS"
  measure "$n" "fidelity" ./atlas fidelity "$OUT/$n"
  measure "$n" "patch-test" ./atlas patch-test --model "$model" --images "$lab" --seed "$SEED" --output "$OUT" \
    --name "$n-patch" --from 0 --to 1 --icon "$(ls "$OUT/$n/render/tiles/"*.png | head -1)"
  measure "$n" "explain --method all" ./atlas explain --model "$model" --images "$OUT/explain-photos" --method all \
    --out "$OUT/$n/explain" --seed "$SEED" --force
  measure "$n" "explain --sanity" ./atlas explain --model "$model" --images "$OUT/explain-photos" --method all --sanity \
    --sanity-images 2 --out "$OUT/$n/sanity" --seed "$SEED" --force
done
mv "$table.tmp" "$table"
cat "$table"
