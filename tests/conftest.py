"""Shared fixtures: the repository root and the book built once per test session."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def book_build(tmp_path_factory):
    """Build the book once with warnings as errors; return (returncode, log, html folder).

    Once per test run, also when pytest-xdist spreads the tests over several workers: the
    first worker to need the book builds it into the run's shared temporary folder, under a
    file lock, and the others read its result."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                 # the folder all workers of this run share
    out, record = shared / "book", shared / "book-build.json"
    with FileLock(str(shared / "book-build.lock")):
        if not record.exists():
            jb = (shutil.which("jupyter-book", path=os.path.dirname(sys.executable))
                  or "jupyter-book")
            proc = subprocess.run([jb, "build", str(ROOT), "--path-output", str(out), "-W",
                                   "-n", "--keep-going"], capture_output=True, text=True)
            record.write_text(json.dumps({"code": proc.returncode,
                                          "log": proc.stdout + proc.stderr}))
        built = json.loads(record.read_text())
    return built["code"], built["log"], out / "_build" / "html"


@pytest.fixture(scope="session")
def book_html(book_build) -> Path:
    """The built HTML folder (fails the requesting test when the build failed)."""
    code, log, html = book_build
    assert code == 0, f"jupyter-book build failed:\n{log[-4000:]}"
    return html


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright, one per test session: Playwright's sync API allows
    one running instance at a time, so every browser test shares this one."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: .ci/run installs it with apt-get"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread for a module of small models (``pytestmark =
    pytest.mark.usefixtures("one_thread")``): on a shared two-core runner, two threads per
    process oversubscribe the cores and run several times slower. Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
