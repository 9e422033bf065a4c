"""Generate sample_images/badge-rgba.png: a small RGBA test image (CC0, made here).

A colour wheel inside a soft-edged disc on a transparent background, so the
demo and tests have an image with an alpha channel.  Run from the repository
root: ``python sample_images/make_badge.py``.
"""
from pathlib import Path

import cv2
import numpy as np

size = 160
y, x = np.mgrid[0:size, 0:size].astype(np.float64)
cy = cx = (size - 1) / 2
radius = np.hypot(x - cx, y - cy) / (size / 2)
hue = (np.degrees(np.arctan2(y - cy, x - cx)) % 360) / 2  # OpenCV hue is 0..180
hsv = np.stack([hue, 255 * np.clip(radius, 0, 1), 255 - 60 * radius], axis=-1)
bgr = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
alpha = np.clip((1.0 - radius) * 12, 0, 1) * 255
bgra = np.dstack([bgr, alpha.astype(np.uint8)])
cv2.imwrite(str(Path(__file__).with_name("badge-rgba.png")), bgra)
