#!/usr/bin/env bash
# One-shot init: both databases migrated, the device pools, the analysts' read-only role,
# and demo inputs/weights in the shared data volume if absent.
set -euo pipefail
airflow db migrate
airflow pools set cpu_bench "${SEGBENCH_CPU_SLOTS:-1}" "one CPU benchmark at a time per benchmark host"
airflow pools set gpu_bench "${SEGBENCH_GPU_SLOTS:-1}" "one benchmark per GPU"
segbench db upgrade
segbench db grant-reader segbench_reader
segbench data
segbench weights
