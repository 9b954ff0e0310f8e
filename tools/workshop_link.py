"""Print the nbgitpuller link that hands the course to a room on a JupyterHub.

Learners who click it get a copy of the repository in their hub home folder (cloned the first
time, updated the next) and JupyterLab opens at the notebook given:

    python tools/workshop_link.py https://hub.example.org
    python tools/workshop_link.py https://hub.example.org --notebook 02_scaling_laws.ipynb

The repository URL is the one declared in pyproject.toml ([project.urls] Repository).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from course_utils.course import repository_url

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def nbgitpuller_link(
    hub_url: str, branch: str = "main", notebook: str = "00_welcome.ipynb", interface: str = "lab"
) -> str:
    """The ``/hub/user-redirect/git-pull`` link for ``hub_url`` that opens ``notebook``."""
    parts = urlsplit(hub_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(
            f"hub_url must be an http(s) URL such as https://hub.example.org, got {hub_url!r}"
        )
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"branch must be a git branch name, got {branch!r}")
    if not (NOTEBOOKS / notebook).is_file():
        raise ValueError(f"notebook must be a file in notebooks/, got {notebook!r}")
    if interface not in {"lab", "tree"}:
        raise ValueError(f"interface must be 'lab' or 'tree', got {interface!r}")
    repository = repository_url()
    folder = repository.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode(
        {
            "repo": repository,
            "branch": branch,
            "urlpath": f"{interface}/tree/{folder}/notebooks/{notebook}",
        }
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hub_url", help="your JupyterHub's address, e.g. https://hub.example.org")
    parser.add_argument("--branch", default="main", help="git branch to hand out (default: main)")
    parser.add_argument("--notebook", default="00_welcome.ipynb", help="notebook to open first")
    args = parser.parse_args(argv)
    print(nbgitpuller_link(args.hub_url, args.branch, args.notebook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
