"""Package layout (the metadata lives in pyproject.toml).

The folders probe/, collector/ and lab/ sit at the top of the repository, as
the project is laid out, but install under the distinctive import path
vantage.probe / vantage.collector / vantage.lab so that they never clash with
other packages named "probe" or "collector".
"""

from setuptools import find_packages, setup

MAPPED_FOLDERS = ("probe", "collector", "lab")

packages = ["vantage", *(f"vantage.{name}" for name in find_packages("vantage"))]
package_dir = {"vantage": "vantage"}
for folder in MAPPED_FOLDERS:
    package_dir[f"vantage.{folder}"] = folder
    packages.append(f"vantage.{folder}")
    packages.extend(f"vantage.{folder}.{name}" for name in find_packages(folder))

setup(packages=packages, package_dir=package_dir)
