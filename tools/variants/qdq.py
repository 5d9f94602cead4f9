#!/usr/bin/env python3
"""Static int8 (QDQ) variant of an ONNX denoiser: every Conv with constant weights gets QuantizeLinear ->
DequantizeLinear pairs on its input and (unless it is the model's output) its output (uint8, asymmetric, scales from calibrated ranges) and int8
per-output-channel symmetric weights with an int32 bias, the pattern onnxruntime fuses into QLinearConv.

Usage: /usr/bin/python3 tools/variants/qdq.py expose IN.onnx EXPOSED.onnx
         (every Conv's input and output made a graph output, for tools/variants/calibrate.mjs, which writes
          RANGES.json: each of those tensors' [min, max] over calibration inputs)
       /usr/bin/python3 tools/variants/qdq.py quantize IN.onnx RANGES.json OUT.onnx
         (and, when IN.json is a manifest beside IN.onnx, OUT.json beside OUT.onnx: the same manifest with the
          new file, sha256 and size, and training.variant saying how it was made)
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

from graph import int8_per_channel, replace_nodes


def uint8_params(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-8) / 255.0
    return np.float32(scale), np.uint8(np.clip(round(-lo / scale), 0, 255))


def qdq(model, ranges):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    done = {}  # float tensor -> its dequantized copy
    nodes = []
    graph_outputs = {o.name for o in g.output}

    def quantized(name):
        if name not in done:
            s, zp = uint8_params(*ranges[name])
            p = name.replace('/', '_').strip('_')
            g.initializer.extend([numpy_helper.from_array(np.array(s), f'{p}_s'), numpy_helper.from_array(np.array(zp), f'{p}_zp')])
            nodes.extend([helper.make_node('QuantizeLinear', [name, f'{p}_s', f'{p}_zp'], [f'{p}_q'], name=f'{p}_Q'),
                          helper.make_node('DequantizeLinear', [f'{p}_q', f'{p}_s', f'{p}_zp'], [f'{p}_dq'], name=f'{p}_DQ')])
            done[name] = (f'{p}_dq', float(s))
        return done[name]

    for n in g.node:
        if n.op_type != 'Conv' or n.input[1] not in inits:
            nodes.append(n)
            continue
        x_dq, s_x = quantized(n.input[0])
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        m = w.shape[0]
        w_q, s_w = int8_per_channel(w)
        p = (n.name or n.output[0]).replace('/', '_').strip('_')
        g.initializer.extend([numpy_helper.from_array(w_q, f'{p}_wq'), numpy_helper.from_array(s_w, f'{p}_ws'),
                              numpy_helper.from_array(np.zeros(m, np.int8), f'{p}_wzp')])
        nodes.append(helper.make_node('DequantizeLinear', [f'{p}_wq', f'{p}_ws', f'{p}_wzp'], [f'{p}_w'], name=f'{p}_wDQ', axis=0))
        inputs = [x_dq, f'{p}_w']
        if len(n.input) > 2 and n.input[2]:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32)
            s_b = (s_x * s_w).astype(np.float32)
            g.initializer.extend([numpy_helper.from_array(np.round(b / s_b).astype(np.int32), f'{p}_bq'),
                                  numpy_helper.from_array(s_b, f'{p}_bs'), numpy_helper.from_array(np.zeros(m, np.int32), f'{p}_bzp')])
            nodes.append(helper.make_node('DequantizeLinear', [f'{p}_bq', f'{p}_bs', f'{p}_bzp'], [f'{p}_b'], name=f'{p}_bDQ', axis=0))
            inputs.append(f'{p}_b')
        out = n.output[0]
        if out in graph_outputs:  # the model's output stays float: one rounding less where it is read
            conv = helper.make_node('Conv', inputs, [out], name=n.name)
            conv.attribute.extend(n.attribute)
            nodes.append(conv)
            continue
        raw = f'{p}_raw'
        conv = helper.make_node('Conv', inputs, [raw], name=n.name)
        conv.attribute.extend(n.attribute)
        nodes.append(conv)
        s, zp = uint8_params(*ranges[out])
        g.initializer.extend([numpy_helper.from_array(np.array(s), f'{p}_os'), numpy_helper.from_array(np.array(zp), f'{p}_ozp')])
        nodes.extend([helper.make_node('QuantizeLinear', [raw, f'{p}_os', f'{p}_ozp'], [f'{p}_oq'], name=f'{p}_oQ'),
                      helper.make_node('DequantizeLinear', [f'{p}_oq', f'{p}_os', f'{p}_ozp'], [out], name=f'{p}_oDQ')])
    replace_nodes(g, nodes)
    return model


def expose(model):
    g = model.graph
    names = list(dict.fromkeys(name for n in g.node if n.op_type == 'Conv' for name in (n.input[0], n.output[0])))
    present = {o.name for o in g.output}
    g.output.extend(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names if name not in present)
    return model


def write_manifest(src, dst, ranges_path):
    base = os.path.splitext(src)[0] + '.json'
    if not os.path.exists(base):
        return
    manifest = json.load(open(base))
    data = open(dst, 'rb').read()
    manifest.update(name=manifest['name'] + '-int8', file=os.path.basename(dst), sha256=hashlib.sha256(data).hexdigest(), sizeBytes=len(data))
    manifest.setdefault('training', {})['variant'] = {
        'of': {'file': os.path.basename(src), 'sha256': hashlib.sha256(open(src, 'rb').read()).hexdigest()},
        'method': 'static int8 QDQ on every Conv (onnxruntime fuses it into QLinearConv): uint8 activations, '
                  'scales from calibrated [min, max]; int8 symmetric per-output-channel weights; int32 bias; '
                  'the output conv stays float out',
        'calibrationRanges': {'file': os.path.basename(ranges_path), 'sha256': hashlib.sha256(open(ranges_path, 'rb').read()).hexdigest()},
        'command': 'tools/variants/README.md',
    }
    manifest.pop('metrics', None)  # the fp32 model's; the variant's checks are in its own metrics
    manifest['metrics'] = {}
    with open(os.path.splitext(dst)[0] + '.json', 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'expose':
        onnx.save(expose(onnx.load(sys.argv[2])), sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == 'quantize':
        _, _, src, ranges, dst = sys.argv
        model = qdq(onnx.load(src), json.load(open(ranges)))
        onnx.checker.check_model(model)
        onnx.save(model, dst)
        write_manifest(src, dst, ranges)
        print(f'qdq: {src} -> {dst}')
    else:
        sys.exit(__doc__)
