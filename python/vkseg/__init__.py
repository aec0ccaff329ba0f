"""vkseg: semantic segmentation on Vulkan compute shaders, from Python.

    import vkseg
    model = vkseg.Model.load("weights/demo/demo_fcn8s.vkseg")
    with vkseg.Network(vkseg.Context(), model) as network:
        labels = network.segment(rgb)          # uint8 H x W x 3 in, H x W labels out

Device work releases the GIL; every failure raises vkseg.Error with vkseg's one-line message.
`python3 -m vkseg.dask segment ...` segments a folder of images on a Dask cluster.
"""
from ._vkseg import *  # noqa: F401,F403 (the compiled API is the package's API)
from ._vkseg import __version__  # noqa: F401 (not exported by *)
