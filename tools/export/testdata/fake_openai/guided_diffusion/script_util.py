import argparse

import numpy as np

from .unet import UNetModel


class Diffusion:
    def __init__(self, steps, rescale_timesteps):
        self.num_timesteps = steps
        self.rescale_timesteps = rescale_timesteps
        self.betas = np.linspace(1e-4, 2e-2, steps)


def model_and_diffusion_defaults():
    return dict(image_size=32, num_channels=8, learn_sigma=False, class_cond=False, diffusion_steps=1000,
                noise_schedule="linear", timestep_respacing="", rescale_timesteps=False, use_checkpoint=False,
                use_fp16=False, predict_xstart=False)


def create_model_and_diffusion(image_size, num_channels, learn_sigma, class_cond, diffusion_steps, noise_schedule,
                               timestep_respacing, rescale_timesteps, use_checkpoint, use_fp16, predict_xstart):
    model = UNetModel(image_size, num_channels, 6 if learn_sigma else 3, use_fp16=use_fp16, use_checkpoint=use_checkpoint)
    return model, Diffusion(diffusion_steps, rescale_timesteps)


def str2bool(v):
    return v if isinstance(v, bool) else v.lower() in ("yes", "true", "t", "y", "1")


def add_dict_to_argparser(parser, default_dict):
    for k, v in default_dict.items():
        t = type(v) if v is not None else str
        parser.add_argument(f"--{k}", default=v, type=str2bool if isinstance(v, bool) else t)


def args_to_dict(args, keys):
    return {k: getattr(args, k) for k in keys}


_ = argparse
