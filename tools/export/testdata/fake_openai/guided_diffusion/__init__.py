"""A stand-in for openai/guided-diffusion with the parts that trip torch.onnx (for tools/export/test_export.py).

Like the real package: the attention block calls nn.checkpoint(...) unconditionally, and checkpoint is an
autograd.Function; use_fp16 converts the blocks to half and casts inputs to model.dtype; script_util builds the
model from flag defaults. The network itself is tools/train/common.py's UNet plus one such attention block.
"""
