import math
import os
import sys

import torch
import torch.nn as tnn

from .nn import checkpoint

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "train")))
from common import UNet  # noqa: E402


class AttentionBlock(tnn.Module):
    def __init__(self, ch, use_checkpoint=False):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.norm = tnn.GroupNorm(1, ch)
        self.qkv = tnn.Conv1d(ch, 3 * ch, 1)
        self.proj = tnn.Conv1d(ch, ch, 1)

    def forward(self, x):
        # guided-diffusion passes True here whatever use_checkpoint says
        return checkpoint(self._forward, (x,), self.parameters(), True)

    def _forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x).reshape(b, c, h * w)).chunk(3, dim=1)
        a = torch.softmax(torch.einsum("bct,bcs->bts", q, k) / math.sqrt(c), dim=-1)
        return x + self.proj(torch.einsum("bts,bcs->bct", a, v)).reshape(b, c, h, w)


class UNetModel(tnn.Module):
    def __init__(self, image_size, num_channels, out_channels, use_fp16=False, use_checkpoint=False):
        super().__init__()
        self.dtype = torch.float16 if use_fp16 else torch.float32
        self.attn = AttentionBlock(3, use_checkpoint)
        self.inner = UNet(in_ch=3, ch=num_channels, mults=(1, 2), num_res_blocks=1, attn_res=(image_size // 2,), heads=2,
                          out_ch=out_channels, image_size=image_size)
        if use_fp16:
            self.convert_to_fp16()

    def convert_to_fp16(self):
        self.inner.half()

    def convert_to_fp32(self):
        self.inner.float()

    def forward(self, x, timesteps):
        h = self.attn(x).type(self.dtype)
        return self.inner(h, timesteps).type(x.dtype)
