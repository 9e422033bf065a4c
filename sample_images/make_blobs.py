"""Generate sample_images/blobs.png: four colours in random tiles plus noise (CC0, made here).

An image with a clear elbow at K = 4, for `quantize elbow`.  Run from the
repository root: ``python sample_images/make_blobs.py``.
"""
from pathlib import Path

import cv2
import numpy as np

rng = np.random.default_rng(0)
colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [220, 220, 60]], float)
tiles = rng.integers(0, 4, size=(16, 16)).repeat(16, 0).repeat(16, 1)
image = np.clip(colours[tiles] + rng.normal(0, 6, (256, 256, 3)), 0, 255).astype(np.uint8)
cv2.imwrite(str(Path(__file__).with_name("blobs.png")), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
