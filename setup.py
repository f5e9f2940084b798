"""Build the optional C helper of lsst.meas.realbogus.stamps.cutouts (all else is in pyproject.toml)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lsst.meas.realbogus.stamps._cutcopy",
            ["python/lsst/meas/realbogus/stamps/_cutcopy.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
