"""Issue 28 goal "keep 0.1 exact: at most 95% of today's predictive bytes": ranked (spec 6.7) / Rice-coded
predictive (6.5) bytes at keep 0.1, 512 x 512 centre crops of the val frames, the seeds bench-coding uses.

    python benchmarks/ranked_vs_rice.py
"""
import numpy as np, glob, maskcodec
from maskcodec.io.images import read_image
for cam in ["mars_rgb/val", "mars_rgb_m2020/val", "mars_rgb_mahli/val"]:
    r = []
    for i, p in enumerate(sorted(glob.glob(f"../shared/data/{cam}/*.png"))):
        img = read_image(p); h, w = img.shape[:2]
        img = np.ascontiguousarray(img[max(0,(h-512)//2):][:512, max(0,(w-512)//2):][:, :512])
        a = len(maskcodec.encode(img, keep=0.1, seed=3000 + i)); b = len(maskcodec.encode(img, keep=0.1, seed=3000 + i, coding="predictive"))
        r.append(a / b)
    print(cam, len(r), "ranked/predictive keep 0.1: mean %.4f worst %.4f" % (np.mean(r), np.max(r)))
