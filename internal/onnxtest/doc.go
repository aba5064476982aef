// Package onnxtest holds cnngen's ONNX import tests that need files from outside the module:
//
//   - TestNodeConformance runs ONNX's own operator conformance suite (Debian's libonnx-testdata:
//     the backend node tests and the PyTorch-converted module tests) through gen/onnx and the
//     reference interpreter, and a representative subset through generated code. Every test of a
//     supported operator is either in mustpass.txt (it must pass) or in excluded.txt (with the
//     reason it cannot be imported).
//   - TestModels exports torchvision models with shared/anchors/export_models.py and checks the
//     imported networks' logits, through the interpreter and through generated code, against
//     PyTorch's; TestTrainedLeNet5 checks that the trained LeNet-5, exported to ONNX, predicts
//     what generated/lenet5 predicts.
//
// The tests skip, naming the Debian packages to install, when the suite or PyTorch is missing.
// gen/onnx/README.md documents how to run them.
package onnxtest
