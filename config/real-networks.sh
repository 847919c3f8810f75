#!/usr/bin/env bash
# Reproduces the README's "Real networks" section on this machine: full-size torchvision GoogLeNet, MobileNetV2,
# InceptionV3 and ResNet-50 (random seeded weights, exported to ONNX by Debian's python3-torch), an atlas of a mid layer
# over random crops of every real photo the Debian packages ship, attribution maps, each command under
# /usr/bin/time -v, then one table (atlas-output/real/summary.md).
#
#   config/real-networks.sh                      # all four networks
#   NETS="googlenet" CROPS=10 config/real-networks.sh
#
# Needs: python3-torch python3-torchvision python3-pil (fixtures, prediction check), opencv-doc (photos); optional
# darknet and python3-skimage add photos. Takes about 45 minutes on 2 cores with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
FIX=${FIX:-target/onnx-fixtures}
OUT=${OUT:-atlas-output/real}
NETS=${NETS:-googlenet mobilenet_v2 inception_v3 resnet50}
CROPS=${CROPS:-25}          # random crops per photo (81 photos × 25 = 2,025 samples)
GRID=${GRID:-10}            # atlas grid
THRESHOLD=${THRESHOLD:-8}   # samples a cell needs to get an icon
STEPS=${STEPS:-128}         # gradient-ascent steps per icon
ICON=${ICON:-0}             # icon size (0 = the model's input size)
EXPLAIN_IMAGES=${EXPLAIN_IMAGES:-16}
SEED=${SEED:-42}

command -v /usr/bin/time >/dev/null || { echo "real-networks: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
/usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null \
  || { echo "real-networks: needs python3-torch python3-torchvision python3-pil (apt-get install --no-install-recommends ...)" >&2; exit 2; }

# 1. the networks (made here, never downloaded)
for n in $NETS; do
  [[ -f "$FIX/$n.onnx" ]] || /usr/bin/python3 src/test/resources/fixtures/onnx/make_onnx_fixtures.py "$FIX" --nets "$n"
done

# 2. the photos: every photo in opencv-doc's examples, darknet's data and skimage's data (not diagrams or masks)
photos="$OUT/photos"
mkdir -p "$photos"
copy() { [[ -f "$1" ]] && cp -n "$1" "$photos/$(basename "$(dirname "$1")")-$(basename "$1")" || true; }
for f in /usr/share/doc/opencv-doc/examples/data/*.jpg /usr/share/darknet/data/*.jpg; do copy "$f"; done
sk=/usr/lib/python3/dist-packages/skimage/data
for f in astronaut.png brick.png camera.png chelsea.png coffee.png coins.png grass.png gravel.png ihc.png moon.png \
         motorcycle_left.png motorcycle_right.png rocket.jpg hubble_deep_field.jpg retina.jpg; do copy "$sk/$f"; done
echo "real-networks: $(ls "$photos" | wc -l) photos in $photos"
mkdir -p "$OUT/photos-explain"
ls "$photos" | head -n "$EXPLAIN_IMAGES" | while read -r f; do ln -sf "$(realpath "$photos/$f")" "$OUT/photos-explain/$f"; done

timed() { # timed LOG command...: runs it under /usr/bin/time -v, keeps the log
  local log=$1; shift
  /usr/bin/time -v -o "$log.time" "$@" 2>&1 | tee "$log" | grep -E '^[a-z-]+( [^%]*)?: .* in [0-9.]+ ?s|^atlas:|rror' || true
}

for n in $NETS; do
  model="$FIX/$n.onnx"
  mkdir -p "$OUT/logs"
  echo "== $n"
  ./atlas layers --model "$model" > "$OUT/logs/$n-layers.txt"
  timed "$OUT/logs/$n-run" ./atlas run --model "$model" --images "$photos" --crops-per-image "$CROPS" --seed "$SEED" \
    --grid "$GRID" --threshold "$THRESHOLD" --steps "$STEPS" --icon-size "$ICON" --output "$OUT" --name "$n"
  timed "$OUT/logs/$n-explain" ./atlas explain --model "$model" --images "$OUT/photos-explain" --method all \
    --out "$OUT/$n/explain" --seed "$SEED"
done
/usr/bin/python3 src/test/resources/fixtures/onnx/real_networks_summary.py "$OUT" $NETS | tee "$OUT/summary.md"
