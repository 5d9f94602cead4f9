"""What the variant rewrites share: int8 weights and swapping a graph's node list."""
import numpy as np


def int8_per_channel(w):
    """Symmetric int8 weights and their float32 scale per output channel (axis 0)."""
    m = w.shape[0]
    scale = (np.maximum(np.abs(w.reshape(m, -1)).max(axis=1), 1e-12) / 127.0).astype(np.float32)
    return np.clip(np.round(w / scale.reshape((m,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8), scale


def replace_nodes(graph, nodes):
    """Makes `nodes` the graph's nodes and drops the initializers no node reads any more."""
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
