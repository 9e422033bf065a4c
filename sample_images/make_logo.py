"""Generate sample_images/logo-rgba.png: an anti-aliased logo on a transparent
background (CC0, made here), for the transparency tests and benchmark.

A ring, a filled disc and the word "quantize" in three colours, drawn with
OpenCV's anti-aliased lines at 4x size and shrunk with area averaging, so the
edges have every alpha level from 0 to 255.  Run from the repository root:
``python sample_images/make_logo.py``.
"""
from pathlib import Path

import cv2
import numpy as np

scale, width, height = 4, 320, 120
big = np.zeros((height * scale, width * scale, 4), np.uint8)  # BGRA, transparent
cv2.circle(big, (60 * scale, 60 * scale), 44 * scale, (40, 90, 230, 255), 9 * scale, cv2.LINE_AA)
cv2.circle(big, (60 * scale, 60 * scale), 24 * scale, (30, 170, 250, 255), -1, cv2.LINE_AA)
cv2.putText(big, "quantize", (118 * scale, 74 * scale), cv2.FONT_HERSHEY_DUPLEX, 1.3 * scale,
            (120, 60, 20, 255), 2 * scale, cv2.LINE_AA)
# Premultiply, shrink by area, un-premultiply: soft edges without dark fringes.
premultiplied = big.astype(np.float32)
premultiplied[:, :, :3] *= premultiplied[:, :, 3:] / 255
small = cv2.resize(premultiplied, (width, height), interpolation=cv2.INTER_AREA)
alpha = small[:, :, 3:]
small[:, :, :3] = np.where(alpha > 0, small[:, :, :3] * 255 / np.maximum(alpha, 1e-6), 0)
cv2.imwrite(str(Path(__file__).with_name("logo-rgba.png")), np.clip(np.rint(small), 0, 255).astype(np.uint8))
