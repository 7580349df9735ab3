"""Build script: compiles every ``ml4t/_core/*.pyx`` and maps ``compat/`` to ``ml4t.compat``."""
import glob
import os

import Cython
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def core_extensions():
    exts = []
    for pyx in sorted(glob.glob(os.path.join("ml4t", "_core", "*.pyx"))):
        name = pyx[:-4].replace(os.sep, ".")
        exts.append(
            Extension(
                name,
                [pyx],
                include_dirs=[np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                               ("ML4T_CYTHON_VERSION", f'"{Cython.__version__}"')],
                extra_compile_args=["-O2"],
            )
        )
    return exts


def packages():
    pkgs = find_packages(include=["ml4t", "ml4t.*"])
    package_dir = {}
    if os.path.isdir(os.path.join(HERE, "compat")):
        package_dir["ml4t.compat"] = "compat"
        pkgs.append("ml4t.compat")
        for sub in find_packages(where="compat"):
            pkgs.append("ml4t.compat." + sub)
    return pkgs, package_dir


PACKAGES, PACKAGE_DIR = packages()

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"ml4t.datasets": ["data/daily/*.csv"], "ml4t._core": ["*.pxd", "*.pyx"]},
    include_package_data=False,
    ext_modules=cythonize(
        core_extensions(),
        compiler_directives={"language_level": "3", "embedsignature": True},
        annotate=False,
    ),
    zip_safe=False,
)
