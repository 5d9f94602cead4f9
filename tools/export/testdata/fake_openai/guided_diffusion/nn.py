import torch


class CheckpointFunction(torch.autograd.Function):
    """As guided_diffusion.nn: recomputes in backward. torch.onnx cannot trace a Python autograd.Function."""

    @staticmethod
    def forward(ctx, run_function, length, *args):
        ctx.run_function = run_function
        with torch.no_grad():
            return run_function(*args[:length])

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - never trained here
        raise NotImplementedError


def checkpoint(func, inputs, params, flag):
    if flag:
        return CheckpointFunction.apply(func, len(inputs), *(tuple(inputs) + tuple(params)))
    return func(*inputs)
