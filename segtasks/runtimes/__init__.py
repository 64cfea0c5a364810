"""Inference runtimes beside PyTorch: ONNX Runtime and OpenVINO (docs/runtimes.md).

A case whose `runtime` is not torch runs an ONNX export of the model (`export`: made once
per model identity, runtime and opset, cached under var/runtime-exports, timed on its own) in the
runtime's session (`sessions`), timed by the same protocol as PyTorch
(segtasks.measure.protocol through `workload`), and its outputs are checked against
PyTorch fp32 eager on the same images (`outputs`). `available` says why a runtime cannot run
a case here (not installed, no such device). `case` puts those together for
segtasks.measure.case_runner.

Like segtasks.measure, it runs only in a case's own process: torch, onnxruntime and
openvino are imported inside functions.
"""
