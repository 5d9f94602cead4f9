#!/usr/bin/env python3
"""Lower-precision variants of an ONNX denoiser, rewritten by hand with the onnx package (Debian python3-onnx).

  int8-dynamic: every Conv with a constant weight becomes DynamicQuantizeLinear(x) -> ConvInteger(x_u8, w_s8)
                -> Cast -> Mul(x_scale * w_scale[c]) -> Add(bias): weights int8 symmetric per output channel,
                activations uint8 with a scale computed per call (what onnxruntime's quantize_dynamic emits).
  fp16:         every float initializer and value float16, with Casts at the graph's float inputs and outputs.

Neither ships: measured slower, or no faster, than fp32 on onnxruntime's CPU provider (tools/variants/README.md).

Usage: /usr/bin/python3 tools/variants/variant.py int8-dynamic|fp16 IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from graph import int8_per_channel, replace_nodes


def int8_dynamic(model):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type != 'Conv' or n.input[1] not in inits:
            nodes.append(n)
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        m = w.shape[0]
        wq, w_scale = int8_per_channel(w)
        p = n.name.replace('/', '_').strip('_') or n.output[0]
        g.initializer.extend([
            numpy_helper.from_array(wq, f'{p}_w_q'),
            numpy_helper.from_array(np.zeros((), np.int8), f'{p}_w_zp'),  # onnxruntime: per-tensor zero point only
            numpy_helper.from_array(w_scale.reshape((1, m) + (1,) * (w.ndim - 2)).astype(np.float32), f'{p}_w_scale'),
        ])
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        nodes += [
            helper.make_node('DynamicQuantizeLinear', [n.input[0]], [f'{p}_x_q', f'{p}_x_scale', f'{p}_x_zp'], name=f'{p}_quant'),
            helper.make_node('ConvInteger', [f'{p}_x_q', f'{p}_w_q', f'{p}_x_zp', f'{p}_w_zp'], [f'{p}_acc'], name=f'{p}_convint', **attrs),
            helper.make_node('Cast', [f'{p}_acc'], [f'{p}_accf'], name=f'{p}_cast', to=TensorProto.FLOAT),
            helper.make_node('Mul', [f'{p}_x_scale', f'{p}_w_scale'], [f'{p}_scale'], name=f'{p}_scale'),
        ]
        if len(n.input) > 2 and n.input[2]:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32)
            g.initializer.append(numpy_helper.from_array(b.reshape((1, m) + (1,) * (w.ndim - 2)), f'{p}_bias'))
            nodes += [helper.make_node('Mul', [f'{p}_accf', f'{p}_scale'], [f'{p}_y'], name=f'{p}_rescale'),
                      helper.make_node('Add', [f'{p}_y', f'{p}_bias'], [n.output[0]], name=f'{p}_bias_add')]
        else:
            nodes.append(helper.make_node('Mul', [f'{p}_accf', f'{p}_scale'], [n.output[0]], name=f'{p}_rescale'))
    replace_nodes(g, nodes)
    return model


def fp16(model):
    g = model.graph
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    # Resize's roi and scales stay float32 whatever the data type.
    keep_float = {name for n in g.node if n.op_type == 'Resize' for name in n.input[1:]}
    for n in g.node:
        for a in n.attribute:
            if a.name == 'value' and n.output[0] in keep_float:
                continue
            if a.name == 'value' and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
            if n.op_type == 'Cast' and a.name == 'to' and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    def cast_at(values, field, at_input, to):
        # Renames each float value inside the graph and casts between the two names at the boundary.
        casts = []
        for v in values:
            if v.type.tensor_type.elem_type != TensorProto.FLOAT:
                continue
            for n in g.node:
                names = getattr(n, field)
                for k, name in enumerate(names):
                    if name == v.name:
                        names[k] = f'{v.name}_fp16'
            src, dst = (v.name, f'{v.name}_fp16') if at_input else (f'{v.name}_fp16', v.name)
            casts.append(helper.make_node('Cast', [src], [dst], to=to))
        return casts

    casts = cast_at(g.input, 'input', True, TensorProto.FLOAT16)
    tail = cast_at(g.output, 'output', False, TensorProto.FLOAT)
    nodes = casts + list(g.node) + tail
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    return model


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] not in ('int8-dynamic', 'fp16'):
        sys.exit(__doc__)
    kind, src, dst = sys.argv[1:]
    model = onnx.load(src)
    model = int8_dynamic(model) if kind == 'int8-dynamic' else fp16(model)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f'{kind}: {src} -> {dst}')
