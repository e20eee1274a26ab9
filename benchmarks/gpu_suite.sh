#!/usr/bin/env bash
# The GPU suite: on one GPU, train every study model at full width, run the four studies' `full`
# profiles and the attack benchmarks, everything under one output folder.
#
#   benchmarks/gpu_suite.sh [--smoke] [--output DIR] [--data SOURCE] [--only STEP,...]
#
#   --smoke          tiny sizes on whatever device TensorFlow finds (CI runs it on 2 CPU cores:
#                    tests/test_gpu_suite.py); checks the plumbing, measures nothing
#   --output DIR     default runs/gpu_suite-<date>-<time> (git-ignored)
#   --data SOURCE    a kerasadv.data source; default tar:$KERASADV_CIFAR10_TAR
#   --only STEP,...  run these steps (names below), record the others as skipped
#
# Run it from anywhere after `pip install -e ".[cpu,test,beam]"` (with a GPU build of TensorFlow).
# Steps, in order (their names are the rows of OUTPUT/timings.tsv and the logs OUTPUT/logs/<step>.log):
#
#   train_models (with a train_<model> row per model)
#       benchmarks/gpu_train_models.py: simple_cnn, base_cnn, efficientnet_b0, resnet18 and vgg16
#       (width 64) on the whole training split for their training_defaults epochs -> OUTPUT/models
#   study_<name>
#       python -m kerasadv.pipelines.<name> --profile full -> OUTPUT/studies/<name> (report.html inside)
#   bench_<name>
#       benchmarks/<name>.py without --quick; their `ratio` lines are gathered in OUTPUT/ratios.txt
#
# A failed step is recorded and the next one runs (hours of the others are not lost); the suite
# exits 1 at the end when any step failed. Re-running into the same OUTPUT re-uses the studies'
# cached components (their pipelines' cache), so a run cut short resumes; the models retrain.
set -euo pipefail

STUDIES=(efficientnet_transfer attack_defense_study toggle_activity_study vgg16_layer_vulnerability)

# The attack benchmarks. Not here: scaling.py (Beam / Dask worker processes and two TensorFlow workers
# on one machine: a CPU scale-out measurement, with nothing for one GPU to change).
BENCHMARKS=(
  attack_throughput
  robust_evaluation
  one_pixel_vs_iterative_fgs
  certification
  robustness_pairs
  adversarial_training_overhead
  analysis_speed
)

# The smoke skips every benchmark (a row `skipped` each): at their smallest sizes they still take from
# 25 s (attack_throughput.py --quick --no_peers --batch 16 --resnet_batch 4, 2 cores) to minutes
# (the others train a model first), and the smoke's studies and models already take its budget.
SMOKE_SKIPS_BENCHMARKS="each takes 25 s to minutes on 2 cores even at its smallest sizes"

# Full-run arguments beyond the defaults.
declare -A FULL_BENCHMARK_ARGS=(
  [attack_throughput]="--mixed_bfloat16"
)

usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//'
}

# all_steps: every step's name, in the order the suite runs them.
all_steps() {
  echo train_models
  printf 'study_%s\n' "${STUDIES[@]}"
  printf 'bench_%s\n' "${BENCHMARKS[@]}"
}

# check_only: exits 2 naming a step of --only that the suite does not have.
check_only() {
  local step
  for step in ${ONLY//,/ }; do
    if ! all_steps | grep -qx "$step"; then
      echo "error: --only names an unknown step '$step'; expected some of: $(all_steps | paste -sd ' ')" >&2
      exit 2
    fi
  done
}

# selected STEP: whether STEP runs (no --only, or --only names it).
selected() {
  [[ -z $ONLY || ",$ONLY," == *",$1,"* ]]
}

print_estimate() {
  cat <<'EOF'
Expected wall time of the full run on one H100 (an ESTIMATE, not a measurement)
  Assumptions: training FLOPs = 3 x forward FLOPs per image, counted with TensorFlow's profiler on
  32x32 inputs (simple_cnn 42 M, base_cnn 79 M, efficientnet_b0 18 M, resnet18 1,112 M, vgg16 627 M);
  a sustained 35 TFLOP/s in mixed bfloat16 on these small-image convnets (3.5 % of the H100's
  989 TFLOP/s dense bfloat16 peak; 830 x the 42 GFLOP/s that ResNet-18 at width 64 trains at on
  2 CPU cores here, 12.5 images/s); plus 5 ms per training step (Keras fit, input pipeline,
  kernel launches; 20 ms for EfficientNet-B0's hundreds of small kernels). The host-CPU analyses
  and ART's AutoAttack are rough guesses (marked ~). Expect +-2x on the whole.
  step                                  estimate   what dominates
  train_models                             14 min  vgg16 5, efficientnet_b0 5, resnet18 16 epochs 2, base_cnn 28 epochs 1.4
  study_efficientnet_transfer              27 min  simple CNN 50 + 20 epochs at batch 32 (12), EfficientNet (5), iterative FGS (<= 8)
  study_attack_defense_study               48 min  7 base CNNs (19), PGD-7 AT (9), 4 x 500 certificates at n = 100,000 (14)
  study_toggle_activity_study             ~30 min  ResNet-18 100 epochs (12), KDE / toggle / ranking / coverage analyses (~15)
  study_vgg16_layer_vulnerability          10 min  VGG-16 60 epochs at batch 64 (7), DLFuzz + Grad-CAM (3)
  bench_attack_throughput                   2 min  tracing, peers
  bench_robust_evaluation                 ~30 min  ART's AutoAttack on 256 images (566 s per 16 images on 2 CPU cores)
  bench_one_pixel_vs_iterative_fgs          2 min
  bench_certification                       2 min
  bench_robustness_pairs                   10 min  5 AT variants, 10 epochs on 20,000 images
  bench_adversarial_training_overhead      70 min  6 recipes x its fixed 600 s training budget
  bench_analysis_speed                      2 min
  total                                  ~4.1 h
EOF
}

# run_step NAME COMMAND...: runs COMMAND with its output in OUTPUT/logs/NAME.log and appends
# NAME, seconds and ok / failed(rc=N) to OUTPUT/timings.tsv; a failure is remembered, not fatal.
run_step() {
  local step=$1 start seconds status
  shift
  echo "[$(date +%H:%M:%S)] $step: $* (log: $OUTPUT/logs/$step.log)"
  start=$EPOCHREALTIME
  if "$@" >"$OUTPUT/logs/$step.log" 2>&1; then
    status=ok
  else
    status="failed(rc=$?)"
    FAILED+=("$step")
  fi
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\n' "$step" "$seconds" "$status" >>"$OUTPUT/timings.tsv"
  echo "  $step: $status in $seconds s"
}

skip_step() {
  printf '%s\t0.0\tskipped\n' "$1" >>"$OUTPUT/timings.tsv"
  echo "[$(date +%H:%M:%S)] $1: skipped ($2)"
}

check_gpu() {
  if ((SMOKE)); then
    echo "warning: --smoke does not check for a GPU: it runs on whatever device TensorFlow finds" >&2
    return
  fi
  if ! python3 -c 'import sys, tensorflow as tf; g = tf.config.list_physical_devices("GPU"); print(g); sys.exit(not g)'; then
    echo "error: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty); expected one." >&2
    echo "  Install a GPU build of TensorFlow, or run with --smoke to try the suite on the CPU." >&2
    exit 1
  fi
}

train_models() {
  local args=(--output "$OUTPUT/models" --data "$DATA" --timings "$OUTPUT/timings.tsv")
  if ! selected train_models; then
    skip_step train_models "not in --only"
    return
  fi
  if ((SMOKE)); then
    args+=(--smoke)
  fi
  run_step train_models python3 "$ROOT/benchmarks/gpu_train_models.py" "${args[@]}"
}

run_studies() {
  local study args
  for study in "${STUDIES[@]}"; do
    if ! selected "study_$study"; then
      skip_step "study_$study" "not in --only"
      continue
    fi
    args=(--profile "$MODE" --pipeline_root "$OUTPUT/studies/$study" --data "$DATA")
    if [[ $study == efficientnet_transfer ]]; then # the pushed model stays in the output folder
      args+=(--serving_dir "$OUTPUT/saved_models")
    fi
    run_step "study_$study" python3 -m "kerasadv.pipelines.$study" "${args[@]}"
  done
}

run_benchmarks() {
  local name args
  for name in "${BENCHMARKS[@]}"; do
    if ! selected "bench_$name"; then
      skip_step "bench_$name" "not in --only"
      continue
    fi
    if ((SMOKE)); then
      skip_step "bench_$name" "$SMOKE_SKIPS_BENCHMARKS"
      continue
    fi
    read -ra args <<<"${FULL_BENCHMARK_ARGS[$name]:-}"
    run_step "bench_$name" python3 "$ROOT/benchmarks/$name.py" "${args[@]}"
    grep -h '^ratio ' "$OUTPUT/logs/bench_$name.log" | sed "s/^/$name /" >>"$OUTPUT/ratios.txt" || true
  done
}

summary() {
  local total
  total=$(awk -v a="$SUITE_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
  echo
  echo "GPU suite ($MODE) on $DATA: $total s in all"
  awk -F '\t' '{ printf "  %-40s %10s  %s\n", $1, $2, $3 }' "$OUTPUT/timings.tsv"
  echo "results:"
  echo "  models:     $OUTPUT/models/<model>/model.keras (metrics.json beside it)"
  grep -h '^report: ' "$OUTPUT"/logs/study_*.log | sed 's/^report: /  report:     /' || true
  echo "  ratios:     $OUTPUT/ratios.txt (the benchmarks' ratio lines)"
  echo "  logs:       $OUTPUT/logs/<step>.log; timings: $OUTPUT/timings.tsv"
}

SMOKE=0
OUTPUT=""
DATA=""
ONLY=""
while (($#)); do
  case $1 in
    --smoke) SMOKE=1 ;;
    --output | --data | --only)
      if (($# < 2)); then
        echo "error: $1 needs a value" >&2
        exit 2
      fi
      case $1 in
        --output) OUTPUT=$2 ;;
        --data) DATA=$2 ;;
        --only) ONLY=$2 ;;
      esac
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "error: unknown argument '$1'; expected --smoke, --output DIR, --data SOURCE or --only STEP,..." >&2
      exit 2
      ;;
  esac
  shift
done

check_only
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTPUT=${OUTPUT:-$ROOT/runs/gpu_suite-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUTPUT/logs"
OUTPUT=$(cd "$OUTPUT" && pwd)
if [[ -z $DATA ]]; then
  if [[ ! -f ${KERASADV_CIFAR10_TAR:-} ]]; then
    echo "error: no data: pass --data SOURCE or set KERASADV_CIFAR10_TAR to the CIFAR-10 archive" \
      "(got '${KERASADV_CIFAR10_TAR:-}')" >&2
    exit 2
  fi
  DATA="tar:$KERASADV_CIFAR10_TAR"
fi
if [[ $DATA == tar:* ]]; then
  export KERASADV_CIFAR10_TAR=${DATA#tar:} # the benchmarks read the archive from here
fi
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export LC_NUMERIC=C # EPOCHREALTIME with a decimal point
MODE=$( ((SMOKE)) && echo smoke || echo full) # also the studies' profile
FAILED=()
SUITE_START=$EPOCHREALTIME
: >"$OUTPUT/ratios.txt"
printf 'step\tseconds\tstatus\n' >"$OUTPUT/timings.tsv"

cd "$ROOT"
print_estimate
echo
echo "GPU suite ($MODE) on $DATA -> $OUTPUT"
check_gpu
train_models
run_studies
run_benchmarks
summary
if ((${#FAILED[@]})); then
  echo "failed steps: ${FAILED[*]} (see their logs)" >&2
  exit 1
fi
