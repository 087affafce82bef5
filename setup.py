"""Build step: ship the top-level templates/, static/ and forms/ inside the wheel.

They stay at the top level as the source; a build copies them to evalsvc/bundled/, where
``evalsvc.shipped()`` finds them in an installed evalsvc. An editable install (scripts/test)
copies nothing and reads the checkout's folders. Everything else is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("templates", "static", "forms")


class BuildPyWithShippedFolders(build_py):
    """build_py, then a fresh copy of each shipped folder into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for folder in SHIPPED:
            target = Path(self.build_lib, "evalsvc", "bundled", folder)
            shutil.rmtree(target, ignore_errors=True)  # no file removed upstream survives
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildPyWithShippedFolders})
