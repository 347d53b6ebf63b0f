#!/usr/bin/env bash
# The GPU checks of issue 32 in one call, for a machine with a CUDA GPU (budget: under 10 minutes):
#   1. the GPU tests (tests/test_training_gpu.py, marked gpu) and the CPU device tests, on this GPU;
#   2. the GPU throughput benchmark: genarch vs a bare PyTorch loop, AttentionNet (Table 3, batch 250)
#      and PromoterNet (2 kb), fp32 and bf16-mixed, with GPU utilisation;
#   3. if time is left, the same for AttentionNet with trainer.compile (does torch.compile help?).
# Everything goes to $OUT/experiments/results (default: experiments/results), with the device named:
#   gpu_check_env.txt            nvidia-smi, torch / CUDA versions, the device
#   gpu_tests.log, gpu_tests.xml pytest's output and JUnit report
#   throughput_gpu_<device>.json benchmark figures (+ .log); throughput_gpu_<device>_compile.json
# Usage, from the repository root:  OUT=/some/dir bash experiments/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS="${OUT:-.}/experiments/results"
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export GENARCH_CACHE="${GENARCH_CACHE:-$(mktemp -d)}"   # generated data stays out of the results
export HYDRA_FULL_ERROR=0
PY="${PYTHON:-python3}"
START=$SECONDS

{
  date -u
  nvidia-smi 2>&1 || echo "nvidia-smi: not found"
  "$PY" - <<'EOF'
import torch
print("torch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available(),
      "devices", torch.cuda.device_count())
for i in range(torch.cuda.device_count()):
    print(f"cuda:{i}", torch.cuda.get_device_name(i), "bf16", torch.cuda.is_bf16_supported())
EOF
} > "$RESULTS/gpu_check_env.txt" 2>&1
cat "$RESULTS/gpu_check_env.txt"
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: torch sees no CUDA GPU here (see $RESULTS/gpu_check_env.txt); nothing measured" >&2
  exit 3
fi
DEVICE=$("$PY" -c "import re, torch; print(re.sub(r'[^a-z0-9]+', '_', torch.cuda.get_device_name(0).lower()).strip('_'))")

echo "== GPU tests ($DEVICE)"
timeout 240 "$PY" -m pytest tests/test_training_devices.py tests/test_training_gpu.py -m "gpu or not slow" -q -rA \
  -p no:cacheprovider --junitxml="$RESULTS/gpu_tests.xml" 2>&1 | tee "$RESULTS/gpu_tests.log"
TESTS=${PIPESTATUS[0]}

echo "== GPU benchmark ($DEVICE), $((SECONDS - START)) s in"
timeout 270 "$PY" -m experiments.bench_throughput --device cuda --results-dir "$RESULTS" 2>&1 \
  | grep -v "Trainer.fit. stopped\|LOCAL_RANK\|GPU available\|TPU available\|HPU available\|💡" \
  | tee "$RESULTS/throughput_gpu_$DEVICE.log"
BENCH=${PIPESTATUS[0]}

LEFT=$((560 - (SECONDS - START)))
if [ "$LEFT" -gt 60 ]; then
  echo "== compile probe, ${LEFT} s left"
  timeout "$LEFT" "$PY" -m experiments.bench_throughput --device cuda --compile --models attentionnet \
    --precisions bf16-mixed --rounds 2 --out "$RESULTS/throughput_gpu_${DEVICE}_compile.json" 2>&1 \
    | grep -v "Trainer.fit. stopped\|LOCAL_RANK\|available:\|💡" | tail -n 20 \
    | tee "$RESULTS/throughput_gpu_${DEVICE}_compile.log"
fi
echo "gpu_check: tests exit $TESTS, benchmark exit $BENCH, $((SECONDS - START)) s; results in $RESULTS"
[ "$TESTS" -eq 0 ] && [ "$BENCH" -eq 0 ]
