"""Which packages the distribution ships (the project metadata is in pyproject.toml).

The repository keeps the node catalog and the example graphs in the top-level folders
``nodes/`` and ``graphs/``; they are installed inside graphflow's namespace as
``graphflow.bundled.nodes`` and ``graphflow.bundled.graphs``, so that ``graphflow`` is the
only top-level name the wheel installs and a project's own ``nodes`` or ``graphs`` package
is never shadowed by ours (nor ours by it). Works for wheels and editable installs alike.
"""

from setuptools import find_namespace_packages, setup

#: repository folder -> the package it is installed as
BUNDLED = {"nodes": "graphflow.bundled.nodes", "graphs": "graphflow.bundled.graphs"}
_SKIP = ["*__pycache__*"]

packages = find_namespace_packages(include=["graphflow", "graphflow.*"], exclude=_SKIP)
package_dir = {}
for folder, package in BUNDLED.items():
    package_dir[package] = folder
    packages += [package] + [f"{package}.{sub}"
                             for sub in find_namespace_packages(folder, exclude=_SKIP)]

setup(packages=packages, package_dir=package_dir)
