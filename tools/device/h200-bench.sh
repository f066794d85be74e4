#!/bin/sh
# The engine on the lent GPU machine (one H200, Vulkan), from binaries built here: its tests first
# (the same kernels against the same references as on llvmpipe), then the benches, then PyTorch on
# the same GPU. Prepare here (see ../.library/device/README.md for the loaders):
#   cargo build --release -p xtask
#   cargo test --release -p internimage-gpu --no-run   # then copy the test binaries, stripped:
#   mkdir -p .device && for t in ops dcnv3 model demo; do
#     cp "$(ls -t target/release/deps/$t-* | grep -v '\.d$' | head -1)" .device/$t && strip .device/$t; done
#   cp target/release/xtask .device/xtask && strip .device/xtask
#   mkdir -p .gl /tmp/amd64/partial
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# Then call the device tool's run with carry [".gl", ".device"] and the command
#   sh tools/device/h200-bench.sh
# It writes under $OUT: gpu.txt, tests.log, model.json (the JSON of `cargo xtask bench model`),
# model.log, pytorch_cuda.json, dcnv3.log, linear.log. It exits non-zero when a test failed (after
# the benches, which run either way) or when the bench of the model failed.
set -u
failed=""
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv >"$OUT/gpu.txt" 2>&1
mkdir -p target/release && cp .device/xtask target/release/xtask
for t in ops dcnv3 model demo; do
  echo "== $t" >>"$OUT/tests.log"
  timeout 60 ./.device/$t --test-threads 1 >>"$OUT/tests.log" 2>&1
  status=$?
  echo "exit $status" >>"$OUT/tests.log"
  [ "$status" -eq 0 ] || failed="$failed test:$t"
done
grep -E "^== |test result|FAILED|panicked|^exit" "$OUT/tests.log"
timeout 200 ./target/release/xtask bench model --runs 50 --json "$OUT/model.json" >"$OUT/model.log" 2>&1 ||
  failed="$failed bench:model"
(cd tools && timeout 120 python3 bench_pytorch.py --runs 50 --device cuda) >"$OUT/pytorch_cuda.json" 2>&1
timeout 60 ./target/release/xtask bench dcnv3 --runs 50 >"$OUT/dcnv3.log" 2>&1
timeout 90 ./target/release/xtask bench linear --runs 50 >"$OUT/linear.log" 2>&1
tail -c 4000 "$OUT/linear.log"; tail -c 1500 "$OUT/dcnv3.log"; tail -1 "$OUT/pytorch_cuda.json"; tail -c 4500 "$OUT/model.log"
if [ -n "$failed" ]; then
  echo "FAILED:$failed"
  exit 1
fi
