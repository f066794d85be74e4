#!/bin/sh
# The native bench on the lent GPU machine (one H200, Vulkan), from a binary built here.
# Prepare here once (see ../.library/device/README.md for the loaders):
#   cargo build --release -p xtask
#   echo /.gl/ >>.git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# Then call the device tool's run with carry [".gl", "target/release/xtask"] and the command
#   sh tools/device/h200-bench.sh
# It writes $OUT/model.json (the same JSON as `cargo xtask bench model`) and the logs.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv >"$OUT/gpu.txt" 2>&1
./target/release/xtask bench model --runs 50 --json "$OUT/model.json" 2>&1 | tee "$OUT/model.log"
./target/release/xtask bench dcnv3 --runs 50 2>&1 | tee "$OUT/dcnv3.log"
./target/release/xtask bench linear --runs 50 2>&1 | tee "$OUT/linear.log"
