#!/usr/bin/python3
"""Writes the data-layer fixtures: NPY/NPZ files written by numpy, NIfTI-1 files written by nibabel, and reference
values for the preprocessing (torch bilinear/trilinear interpolation, numpy percentiles).

Run with /usr/bin/python3 (numpy, nibabel, torch) from anywhere:
    /usr/bin/python3 tests/Learner.Tests/Fixtures/generate_data_fixtures.py
Outputs go to tests/Learner.Tests/Fixtures/data/; expected values to data/expected.json. The tests read the committed
files and never need Python.
"""
import io
import json
import os
import struct

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20241101)
expected = {"arrays": {}, "npz": {}, "nifti": {}, "resize": {}, "percentile": {}}


def values(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel(order="C")]


def save_npy(name, arr, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as fh:
        np.lib.format.write_array(fh, arr, version=version)
    expected["arrays"][name] = {"shape": list(arr.shape), "values": values(arr), "dtype": arr.dtype.str,
                                "fortran": bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)}


# ---------------------------------------------------------------- NPY
save_npy("f4_c_v1.npy", rng.normal(size=(2, 3, 4)).astype("<f4"))
save_npy("f8_be_fortran.npy", np.asfortranarray(rng.normal(size=(3, 4, 5)).astype(">f8")))
save_npy("u1.npy", rng.integers(0, 256, size=(4, 5)).astype("u1"))
save_npy("i1.npy", rng.integers(-128, 128, size=(6,)).astype("i1"))
save_npy("i2_be.npy", rng.integers(-30000, 30000, size=(2, 3, 4)).astype(">i2"))
save_npy("u2.npy", rng.integers(0, 65535, size=(3, 3)).astype("<u2"))
save_npy("i4_fortran.npy", np.asfortranarray(rng.integers(-2**31, 2**31 - 1, size=(3, 5)).astype("<i4")))
save_npy("i4_be_c.npy", rng.integers(-1000000, 1000000, size=(2, 2, 2, 3)).astype(">i4"))
save_npy("i8.npy", rng.integers(-10**6, 10**6, size=(5,)).astype("<i8"))
save_npy("b1.npy", rng.integers(0, 2, size=(2, 4)).astype("?"))
save_npy("f4_v2.npy", rng.normal(size=(4, 3)).astype("<f4"), version=(2, 0))
save_npy("f4_v3.npy", rng.normal(size=(2, 5)).astype("<f4"), version=(3, 0))
save_npy("f4_1d.npy", rng.normal(size=(7,)).astype("<f4"))
save_npy("f8_scalar.npy", np.array(3.25, dtype="<f8"))
save_npy("f4_empty.npy", np.zeros((0, 3), dtype="<f4"))
save_npy("f4_fortran_4d.npy", np.asfortranarray(rng.normal(size=(2, 3, 2, 2)).astype("<f4")))

# ---------------------------------------------------------------- NPZ
a = rng.normal(size=(2, 3)).astype("<f4")
b = rng.integers(-100, 100, size=(4,)).astype("<i2")
c = np.asfortranarray(rng.normal(size=(3, 2)).astype(">f8"))
np.savez(os.path.join(OUT, "stored.npz"), a=a, b=b, c=c)
np.savez_compressed(os.path.join(OUT, "deflated.npz"), a=a, b=b, c=c)
np.savez_compressed(os.path.join(OUT, "single.npz"), rng.normal(size=(2, 2, 3)).astype("<f4"))
members = {"a": {"shape": list(a.shape), "values": values(a)},
           "b": {"shape": list(b.shape), "values": values(b)},
           "c": {"shape": list(c.shape), "values": values(c)}}
expected["npz"]["stored.npz"] = members
expected["npz"]["deflated.npz"] = members
single = np.load(os.path.join(OUT, "single.npz"))["arr_0"]
expected["npz"]["single.npz"] = {"arr_0": {"shape": list(single.shape), "values": values(single)}}


# ---------------------------------------------------------------- NIfTI-1
def save_nifti(name, data, dtype, spacing=None, endian="<", slope_inter=None):
    hdr = nib.Nifti1Header(endianness=endian)
    img = nib.Nifti1Image(data, np.eye(4), header=hdr)
    img.header.set_data_dtype(dtype)
    if spacing is not None:
        img.header.set_zooms(spacing)
    path = os.path.join(OUT, name)
    img.to_filename(path)
    if slope_inter is not None:
        # nibabel recomputes scaling on save; patch scl_slope/scl_inter in place to test the reader's scaling.
        raw = open(path, "rb").read()
        gz = name.endswith(".gz")
        if gz:
            import gzip
            raw = gzip.decompress(raw)
        raw = bytearray(raw)
        raw[112:120] = struct.pack(endian + "ff", *slope_inter)
        raw = bytes(raw)
        if gz:
            import gzip
            raw = gzip.compress(raw, mtime=0)
        open(path, "wb").write(raw)
    loaded = nib.load(path)
    fdata = loaded.get_fdata()
    expected["nifti"][name] = {"shape": list(fdata.shape), "values": values(fdata),
                               "spacing": [float(z) for z in loaded.header.get_zooms()],
                               "big_endian": loaded.header.endianness == ">"}


save_nifti("u1_3d.nii", rng.integers(0, 256, size=(4, 5, 6)).astype(np.uint8), np.uint8, spacing=(1.0, 1.5, 2.0))
save_nifti("i2_scaled.nii.gz", rng.integers(-500, 500, size=(3, 4, 5)).astype(np.int16), np.int16, slope_inter=(0.5, -10.0))
save_nifti("i4_4d.nii", rng.integers(-10**6, 10**6, size=(3, 4, 2, 2)).astype(np.int32), np.int32)
save_nifti("f4_3d.nii.gz", rng.normal(size=(5, 4, 3)).astype(np.float32), np.float32)
save_nifti("f8_be.nii", rng.normal(size=(4, 3, 2)).astype(np.float64), np.float64, endian=">")
save_nifti("f4_2d.nii", rng.normal(size=(6, 5)).astype(np.float32), np.float32)

# ---------------------------------------------------------------- preprocessing references (torch, numpy)
clip = rng.normal(size=(2, 5, 7)).astype(np.float32)
vol = rng.normal(size=(3, 4, 5)).astype(np.float32)
expected["resize"]["clip"] = {"shape": list(clip.shape), "values": values(clip)}
expected["resize"]["volume"] = {"shape": list(vol.shape), "values": values(vol)}
for h, w in [(8, 9), (3, 4), (5, 7), (2, 11)]:
    out = F.interpolate(torch.from_numpy(clip)[None], size=(h, w), mode="bilinear", align_corners=False)[0].numpy()
    expected["resize"][f"bilinear_{h}x{w}"] = {"shape": list(out.shape), "values": values(out)}
for d, h, w in [(5, 6, 8), (2, 3, 3), (4, 2, 7)]:
    out = F.interpolate(torch.from_numpy(vol)[None, None], size=(d, h, w), mode="trilinear", align_corners=False)[0, 0].numpy()
    expected["resize"][f"trilinear_{d}x{h}x{w}"] = {"shape": list(out.shape), "values": values(out)}
pct = rng.normal(size=(200,)).astype(np.float32)
expected["percentile"] = {"values": values(pct),
                          "q": [0.0, 1.0, 2.5, 50.0, 97.5, 99.0, 100.0],
                          "expected": [float(np.percentile(pct.astype(np.float64), q)) for q in [0.0, 1.0, 2.5, 50.0, 97.5, 99.0, 100.0]]}

with open(os.path.join(OUT, "expected.json"), "w") as fh:
    json.dump(expected, fh, indent=0)
print("wrote", len(os.listdir(OUT)), "files to", OUT)
