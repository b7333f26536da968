"""Package layout that pyproject.toml cannot express: `routers/` (the shipped checkpoints,
kept at the repository's top level) is installed as the package `routellm_py_checkpoints`,
whatever it holds at build time. Everything else is configured in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["routellm_py", "routellm_py.*"]), "routellm_py_checkpoints"],
    package_dir={"routellm_py_checkpoints": "routers"},
)
