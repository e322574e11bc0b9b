"""Package discovery (the rest of the metadata is in pyproject.toml): every package under
rnnbench/ is found automatically, so a new subpackage cannot be left out of the wheel;
the built-in plugin folders plugins/ and tasks/ install as rnnbench_models and
rnnbench_tasks ([tool.setuptools.package-dir]), never as generic top-level names."""

from setuptools import find_namespace_packages, setup

# Namespace discovery: data folders such as rnnbench/sweep/defaults/ are packages too (their
# files are package data), so setuptools never has to guess about them.
PACKAGES = find_namespace_packages(include=["rnnbench", "rnnbench.*"], exclude=["*.__pycache__"])
setup(packages=[*PACKAGES, "rnnbench_models", "rnnbench_tasks"])
