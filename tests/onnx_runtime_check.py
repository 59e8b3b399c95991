#!/usr/bin/env python3
"""Runs a model `pfce export` wrote in runtimes pfce has no part in, for tests/test_onnx_export.cpp.

  onnx_runtime_check.py MODEL INPUT EXPECTED N C H W K TOLERANCE

INPUT and EXPECTED are raw little-endian float32 arrays, (N, C, H, W) and (N, K, H, W). The model
must pass the ONNX checker (full check), its output shape must follow from strict shape inference,
and two runtimes must compute EXPECTED within TOLERANCE: OpenCV's ONNX importer (cv2.dnn, its own
implementation of every operator) and the plain numpy evaluation below, written from the ONNX
operator specifications in float64 (a second opinion: OpenCV 4.6 once computed a batch wrong that
this and pfce agreed on). Exits 0 when all hold, 1 when one does not (saying which), and 77 when
Python lacks numpy or onnx (the test then skips, naming the packages); without cv2 the rest runs
and says that OpenCV's run was left out.
"""
import sys

try:
    import numpy as np
    import onnx
except ImportError as e:  # python3-numpy / python3-onnx not installed
    print(f"onnx_runtime_check: {e} (install python3-numpy and python3-onnx)")
    sys.exit(77)
try:
    import cv2
except ImportError:  # the numpy evaluation still runs; OpenCV's is said to be left out
    cv2 = None


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, pads):
    """Conv of stride 1, pads [top, left, bottom, right]: one einsum a filter tap."""
    kh, kw = w.shape[2:]
    top, left, bottom, right = pads if pads else (0, 0, 0, 0)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    out_h, out_w = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    y = np.zeros((x.shape[0], w.shape[0], out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + out_h, j:j + out_w], w[:, :, i, j])
    return y if b is None else y + b[None, :, None, None]


def numpy_run(model, x):
    """The graph's output for input x, node by node as the ONNX operators define them."""
    from onnx import numpy_helper
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in env.items()}
    env[model.graph.input[0].name] = x.astype(np.float64)
    per_channel = (None, slice(None), None, None)
    for node in model.graph.node:
        a, i, op = attributes(node), [env[name] for name in node.input], node.op_type
        if op == "BatchNormalization":
            x0, scale, bias, mean, var = i
            y = ((x0 - mean[per_channel]) / np.sqrt(var[per_channel] + a.get("epsilon", 1e-5))
                 * scale[per_channel] + bias[per_channel])
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "Conv":
            assert a.get("strides", [1, 1]) == [1, 1] and a.get("group", 1) == 1, node
            y = conv(i[0], i[1], i[2] if len(i) > 2 else None, a.get("pads"))
        elif op == "MaxPool":
            assert a["kernel_shape"] == [2, 2] and a["strides"] == [2, 2], node
            n, c, h, w = i[0].shape
            y = i[0][:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
            y = y.max(axis=(3, 5))
        elif op == "ConvTranspose":  # kernel 2, stride 2: each input pixel makes a 2x2 block
            assert a["kernel_shape"] == [2, 2] and a["strides"] == [2, 2], node
            x0, w, b = i
            n, _, h, wd = x0.shape
            y = np.zeros((n, w.shape[1], 2 * h, 2 * wd))
            for di in range(2):
                for dj in range(2):
                    y[:, :, di::2, dj::2] = np.einsum("nchw,co->nohw", x0, w[:, :, di, dj])
            y += b[per_channel]
        elif op == "Concat":
            y = np.concatenate(i, axis=a["axis"])
        elif op == "Pad":
            assert a.get("mode") == b"reflect", node
            pads, rank = i[1], i[0].ndim
            y = np.pad(i[0], [(pads[d], pads[d + rank]) for d in range(rank)], mode="reflect")
        elif op == "Slice":
            index = [slice(None)] * i[0].ndim
            for start, end, axis in zip(i[1], i[2], i[3]):
                index[axis] = slice(start, end)
            y = i[0][tuple(index)]
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(axis=a["axis"], keepdims=True))
            y = e / e.sum(axis=a["axis"], keepdims=True)
        else:
            raise RuntimeError(f"numpy evaluation: no {op} here (node {node.name})")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


def compare(name, got, expected, tolerance):
    if got.shape != expected.shape:
        print(f"{name} computed shape {got.shape}, expected {expected.shape}")
        return False
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    worst = np.unravel_index(int(diff.argmax()), diff.shape)
    print(f"{name}: largest difference {diff.max():.3g} at {tuple(int(i) for i in worst)} "
          f"(tolerance {tolerance:g}); argmax agrees at "
          f"{np.mean(got.argmax(1) == expected.argmax(1)):.6f} of pixels")
    return diff.max() <= tolerance


def main():
    model_path, input_path, expected_path = sys.argv[1:4]
    n, c, h, w, k = (int(v) for v in sys.argv[4:9])
    tolerance = float(sys.argv[9])
    x = np.fromfile(input_path, dtype="<f4").reshape(n, c, h, w)
    expected = np.fromfile(expected_path, dtype="<f4").reshape(n, k, h, w)

    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = [d.dim_value or d.dim_param for d in
            inferred.graph.output[0].type.tensor_type.shape.dim]
    # A named (dynamic) height or width takes what the input gives; the classes are fixed.
    if dims[1] != k or any(d != e and not isinstance(d, str) for d, e in zip(dims[2:], (h, w))):
        print(f"output shape {dims}, expected [N, {k}, {h}, {w}]")
        return 1

    ok = True
    if cv2 is None:
        print("OpenCV: left out (no cv2 module; install python3-opencv)")
    else:
        net = cv2.dnn.readNetFromONNX(model_path)
        net.setInput(np.ascontiguousarray(x))
        ok = compare(f"OpenCV {cv2.__version__}", net.forward(), expected, tolerance)
    ok = compare(f"numpy (onnx {onnx.__version__})", numpy_run(model, x), expected,
                 tolerance) and ok
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
