"""The set-up files agree with each other, and importing the package changes nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from course_utils.course import CHAPTERS, repository_url
from tests.notebook_files import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# conda-forge names the PyPI package "torch" "pytorch".
CONDA_NAMES = {"torch": "pytorch"}


def split_requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", text.strip())
    assert match, text
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = PYPROJECT["project"]
    wanted = dict(
        split_requirement(r)
        for r in project["dependencies"] + project["optional-dependencies"]["lab"]
    )
    wanted = {CONDA_NAMES.get(name, name): version for name, version in wanted.items()}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    listed = {}
    for entry in environment["dependencies"]:
        name, version = split_requirement(entry)
        if name not in {"python", "pip"}:
            listed[name] = version
    assert set(listed) == set(wanted)
    assert listed.pop("pytorch") == "=*=cpu*", "Binder gets the CPU build of PyTorch"
    wanted.pop("pytorch")
    assert listed == wanted


def test_pyproject_keeps_torch_loose_and_the_constraints_pin_it():
    torch = next(r for r in PYPROJECT["project"]["dependencies"] if r.startswith("torch"))
    assert "==" not in torch, "a torch pin in pyproject would make Colab reinstall torch"
    constraints = (ROOT / "requirements" / "constraints.txt").read_text()
    assert re.search(r"^torch==\d+\.\d+\.\d+$", constraints, flags=re.MULTILINE)
    assert not re.search(r"^torch==.*\+cpu", constraints, flags=re.MULTILINE)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert "make lab" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.MULTILINE)


def test_make_lab_serves_the_repository_and_opens_chapter_0():
    """Chapter 0 tells learners to open `course_utils/` and to run `git checkout -- notebooks/…`
    in a JupyterLab terminal: both need the server's root to be the repository, not notebooks/."""
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab:") :].split("\n\n")[0]
    assert "--ServerApp.root_dir=. " in lab
    assert "default_url=/lab/tree/notebooks/00_welcome.ipynb" in lab
    assert re.search(r"^venv: ", makefile, flags=re.MULTILINE)
    readme = (ROOT / "README.md").read_text()
    assert "`make venv`" in readme, "the README names the set-up-only target"


def test_ci_installs_chromium_for_the_browser_test():
    script = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"^\s*apt-get install -y .*\bchromium\b", script, flags=re.MULTILINE)
    assert install, ".ci/run must install Chromium, or tests/browser/ is skipped"
    assert install.start() < script.index("\nmake test")


def test_readme_has_binder_and_a_colab_badge_per_chapter():
    readme = (ROOT / "README.md").read_text()
    repository = repository_url().removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{repository}/HEAD" in readme
    for chapter in CHAPTERS:
        colab = (
            f"https://colab.research.google.com/github/{repository}/blob/main/"
            f"notebooks/{chapter.notebook}"
        )
        assert colab in readme, f"README lacks the Colab badge for {chapter.notebook}"


def test_binder_installs_the_package():
    post_build = (ROOT / "postBuild").read_text()
    assert post_build.startswith("#!/bin/bash\n")
    assert "set -e" in post_build
    assert "pip install --no-deps --editable ." in post_build


IMPORT_PROBE = """
import random, numpy, torch
random.seed(1); numpy.random.seed(1); torch.manual_seed(1)
before = (random.getstate(), numpy.random.get_state()[1].tolist(), torch.get_rng_state())
import matplotlib
backend = matplotlib.get_backend()
import course_utils
after = (random.getstate(), numpy.random.get_state()[1].tolist(), torch.get_rng_state())
assert before[0] == after[0] and before[1] == after[1] and torch.equal(before[2], after[2])
assert matplotlib.get_backend() == backend
"""


def test_importing_the_package_has_no_side_effects():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_readme_map_names_every_module_test_file_and_chapter():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| chapter | package modules |") :].split("\n\n")[0]
    package = ROOT / "course_utils"
    modules = [p.stem for p in package.glob("*.py")] + ["exercises/framework"]
    exercises = [p.stem for p in (package / "exercises").glob("ch*.py")]
    tests = [p.stem for p in (ROOT / "tests").glob("test_*.py")]
    chapters = [chapter.notebook.removesuffix(".ipynb") for chapter in CHAPTERS]
    for name in modules + exercises + tests + chapters:
        assert f"`{name}`" in table, f"README's map of the course lacks {name}"
