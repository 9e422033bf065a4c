"""Scores, by kind: how well a clustering matches known labels
(:mod:`.clustering`), how far a quantized image is from its original
(:mod:`.image`), and pngquant's 0-100 quality scale (:mod:`.pngquant`).

This module only gathers their public names, so that ``quantize.metrics.ssim``
and ``from quantize.metrics import quality`` work as before; each kind is
loaded on first use, so that the colour path, which needs only pngquant's
scale, does not load the clustering scores.
"""
_WHERE = {
    "ClusterScores": "clustering",
    "adjusted_rand_index": "clustering",
    "cluster_scores": "clustering",
    "contingency": "clustering",
    "homogeneity_completeness_v_measure": "clustering",
    "majority_accuracy": "clustering",
    "majority_labels": "clustering",
    "ciede2000": "image",
    "delta_e_2000": "image",
    "delta_e_ok": "image",
    "dssim": "image",
    "ssim": "image",
    "mse_to_quality": "pngquant",
    "pngquant_difference": "pngquant",
    "quality": "pngquant",
    "quality_to_mse": "pngquant",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'quantize.metrics' has no attribute {name!r}")
    # __import__, not importlib.import_module: the same import, and -X importtime reports it
    value = getattr(__import__(f"{__name__}.{_WHERE[name]}", fromlist=["_"]), name)
    globals()[name] = value  # found here directly from now on
    return value


def __dir__():
    return sorted({*globals(), *__all__})
