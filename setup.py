"""Package discovery (the rest of the metadata is in pyproject.toml): every package under
rnnbench/ is found automatically, so a new subpackage cannot be left out of the wheel;
the built-in plugin folders plugins/ and tasks/ install as rnnbench_models and
rnnbench_tasks ([tool.setuptools.package-dir]), never as generic top-level names."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["rnnbench", "rnnbench.*"]),
                "rnnbench_models", "rnnbench_tasks"])
