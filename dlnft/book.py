"""Tools for the book's chapters: the Colab cell, pairing and execution.

    python -m dlnft.book execute chapters/01_conservation.md [...]   # sync the twin, execute
    python -m dlnft.book check                                        # pairs in sync, executed

The repository URL is configured once, in ``_config.yml`` (``repository.url``); the Colab
launch buttons and the install line of every chapter's first code cell both come from it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"

COLAB_CELL = '''\
# In Colab, install dlnft from the book's repository; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{requirement}"], check=True)'''


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """``repository.url`` from the book's ``_config.yml``."""
    import yaml

    url = (yaml.safe_load(config.read_text()).get("repository") or {}).get("url")
    if not url:
        raise ValueError(f"{config} has no repository.url")
    return url.rstrip("/")


def install_requirement(url: str | None = None) -> str:
    """The pip requirement that installs dlnft from the repository: ``dlnft @ git+URL``."""
    return f"dlnft @ git+{url or repository_url()}"


def colab_cell(url: str | None = None) -> str:
    """The source every chapter's first code cell must have."""
    return COLAB_CELL.format(requirement=install_requirement(url))


def chapter_pairs() -> list[tuple[Path, Path]]:
    """(md, ipynb) of every chapter, sorted by name."""
    return [(md, md.with_suffix(".ipynb")) for md in sorted(CHAPTERS.glob("[0-9][0-9]_*.md"))]


# How chapters are executed, here and in CI (.ci/run sets the same): smoke scale and one
# thread per process. The chapters' tensors are small, so threads only add contention on a
# 2-core machine, and one setting everywhere keeps floating-point reductions, and so the
# printed numbers nbval compares, the same.
EXECUTION_ENV = {"DLNFT_SCALE": "smoke", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def execute(md: Path, timeout: int = 600) -> None:
    """Write the .ipynb twin of ``md`` and execute it in place, as CI does."""
    env = {**os.environ, **EXECUTION_ENV}
    # no --update: it would carry the old notebook's outputs over the fresh ones
    subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "--execute",
                    "--set-kernel", "python3", str(md)], check=True, env=env, cwd=md.parent)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlnft.book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("execute", help="sync the .ipynb twin of each chapter and execute it")
    ex.add_argument("chapters", nargs="+", type=Path)
    sub.add_parser("colab-cell", help="print the first code cell every chapter must have")
    args = parser.parse_args(argv)
    if args.cmd == "execute":
        for md in args.chapters:
            if md.suffix != ".md" or not md.exists():
                parser.error(f"{md} is not an existing chapter .md file")
            execute(md.resolve())
    else:
        print(colab_cell())
    return 0


if __name__ == "__main__":
    sys.exit(main())
