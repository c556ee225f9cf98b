"""Does a returned item look like the one shipped? ORB features (OpenCV) matched between a
reference photo and a photo of the returned item, verified geometrically (a homography with
RANSAC): the number of inliers is the score. Different angles, scale, light and background
keep a high score for the same object; another object scores near zero."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FEATURES = 1500
LONG_SIDE = 1280  # photos are compared at most this large (speed; phones take 4000 px)


def _grey(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    scale = LONG_SIDE / max(image.shape)
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return image


def match_score(reference: Path, candidate: Path) -> int:
    """How many features of the reference are found, in a consistent geometry, on the
    candidate (0: unreadable or nothing in common)."""
    a, b = _grey(reference), _grey(candidate)
    if a is None or b is None:
        return 0
    orb = cv2.ORB.create(nfeatures=FEATURES)
    keys_a, desc_a = orb.detectAndCompute(a, None)
    keys_b, desc_b = orb.detectAndCompute(b, None)
    if desc_a is None or desc_b is None or len(keys_a) < 4 or len(keys_b) < 4:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_a, desc_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 4:
        return 0
    src = np.array([keys_a[m.queryIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    dst = np.array([keys_b[m.trainIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
    return int(mask.sum()) if mask is not None else 0
