"""Scores, by kind: how well a clustering matches known labels
(:mod:`.clustering`), how far a quantized image is from its original
(:mod:`.image`), and pngquant's 0-100 quality scale (:mod:`.pngquant`).

This module only gathers their public names, so that ``quantize.metrics.ssim``
and ``from quantize.metrics import quality`` work as before.
"""
from .clustering import (
    ClusterScores,
    adjusted_rand_index,
    cluster_scores,
    contingency,
    homogeneity_completeness_v_measure,
    majority_accuracy,
    majority_labels,
)
from .image import ciede2000, delta_e_2000, delta_e_ok, dssim, ssim
from .pngquant import mse_to_quality, pngquant_difference, quality, quality_to_mse

__all__ = [
    "ClusterScores",
    "adjusted_rand_index",
    "ciede2000",
    "cluster_scores",
    "contingency",
    "delta_e_2000",
    "delta_e_ok",
    "dssim",
    "homogeneity_completeness_v_measure",
    "majority_accuracy",
    "majority_labels",
    "mse_to_quality",
    "pngquant_difference",
    "quality",
    "quality_to_mse",
    "ssim",
]
