"""The results appendix (_ext/results_appendix.py): a table made from data/results/*.json.

Fake merged result files in a temporary folder, in the format dlnft.experiments.results.merge
writes (runs with their checksums), built by Sphinx into a one-page project with the directive.
"""
from __future__ import annotations

import html
import io
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import results_appendix as ra  # noqa: E402

from dlnft.experiments import EXPERIMENTS  # noqa: E402
from dlnft.experiments.results import checksum  # noqa: E402


def _run(name, seed, alpha, *, device="NVIDIA H100 80GB HBM3",
         date="2026-11-20T10:00:00+00:00", commit="0123456789abcdef0123", dirty=False,
         wall_s=60.0):
    run = {"name": name, "config": {"class": "ResNetConfig", "seed": seed, "alpha": alpha},
           "metrics": {"pt": {"test_acc": 0.5}}, "wall_s": wall_s, "scale": "full",
           "provenance": {"commit": commit, "dirty": dirty, "device": device, "torch": "2.5.1",
                          "python": "3.11.7", "host": "h", "date": date, "started": date}}
    return {**run, "checksum": checksum(run)}


def _merged(name, runs, missing=()):
    return {"name": name, "scale": "full",
            "provenance": {"commit": "fedcba9876543210fedc", "dirty": False,
                           "device": "cpu (x86_64)", "torch": "2.5.1", "python": "3.11.7",
                           "host": "merge-host", "date": "2026-11-25T08:00:00+00:00"},
            "n_runs": len(runs), "wall_s": sum(r["wall_s"] for r in runs),
            "missing": list(missing), "runs": runs}


@pytest.fixture
def results(tmp_path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    resnet = [_run("resnet_fmnist", s, a, date=f"2026-11-{20 + s}T10:00:00+00:00",
                   wall_s=1800.0) for s in range(3) for a in (0.1, 1.0)]
    (folder / "resnet_fmnist.json").write_text(
        json.dumps(_merged("resnet_fmnist", resnet, ["abc", "def"])))
    balance = [_run("balance", 0, 1.0, device="cpu (x86_64)",
                    date="2026-11-22T09:00:00+00:00", dirty=True, wall_s=42.0)]
    (folder / "balance.json").write_text(json.dumps(_merged("balance", balance)))
    # never listed: smoke runs, and per-run files
    (folder / "balance-smoke.json").write_text(json.dumps(_merged("balance", balance)))
    (folder / "runs" / "balance").mkdir(parents=True)
    (folder / "runs" / "balance" / "0123.json").write_text("{}")
    return folder


def test_recorded_files_skip_smoke_runs(results):
    assert [p.name for p in ra.recorded_files(results)] == ["balance.json",
                                                            "resnet_fmnist.json"]


@pytest.mark.parametrize("seconds, text", [(42, "42 s"), (720, "12 min"), (12240, "3.4 h")])
def test_duration(seconds, text):
    assert ra.duration(seconds) == text


def test_summary_comes_from_the_runs_provenance(results):
    resnet = ra.summarize(json.loads((results / "resnet_fmnist.json").read_text()))
    assert resnet == {"Device": "NVIDIA H100 80GB HBM3", "Date": "2026-11-20 to 2026-11-22",
                      "Wall time": "3.0 h", "Runs": "6 runs, 3 seeds, 2 missing",
                      "Commit": "0123456789"}
    balance = ra.summarize(json.loads((results / "balance.json").read_text()))
    assert balance["Commit"] == "0123456789+dirty" and balance["Date"] == "2026-11-22"
    assert balance["Runs"] == "1 run, 1 seed" and balance["Wall time"] == "42 s"


def test_summary_without_runs_uses_the_merge_provenance():
    empty = ra.summarize(_merged("resnet", [], missing=["a"]))
    assert empty["Device"] == "cpu (x86_64)" and empty["Commit"] == "fedcba9876"
    assert empty["Runs"] == "0 runs, 0 seeds, 1 missing"


def test_every_experiment_has_its_chapters():
    """The one map experiment → chapters covers the registry, and names real chapters."""
    assert set(EXPERIMENTS) <= set(ra.CHAPTERS), set(EXPERIMENTS) - set(ra.CHAPTERS)
    for docs in ra.CHAPTERS.values():
        for doc in docs:
            assert (ROOT / f"{doc}.md").exists(), doc


def test_the_chapters_are_those_that_read_the_results():
    """A chapter is listed for an experiment exactly when its code reads recorded results
    (results.load, results.load_recorded, or a prediction's judgement or result box) and names
    the experiment (``"NAME"``, as its load calls and its dicts of experiments do) or one of the
    experiment's predictions (``"ID"``, as judge and result_box calls do)."""
    from dlnft.experiments.predictions import PREDICTIONS

    readers = ("results.load(", "load_recorded(", "result_box(", "summary.judge(")
    for page in sorted((ROOT / "chapters").glob("*.md")):
        text, doc = page.read_text(), f"chapters/{page.stem}"
        named = {n for n in EXPERIMENTS if f'"{n}"' in text}
        named |= {p.experiment for p in PREDICTIONS if f'"{p.id}"' in text}
        read = named if any(r in text for r in readers) else set()
        listed = {n for n, docs in ra.CHAPTERS.items() if doc in docs}
        assert listed == read, doc


def _numbers(name) -> str:
    """The "Chapters" cell of ``name`` by the map: its chapters' numbers, or "none"."""
    return ", ".join(str(int(Path(doc).name.split("_")[0])) for doc in ra.CHAPTERS[name]) or "none"


def _build(tmp_path, results_dir) -> tuple[str, str]:
    """Build a one-page Sphinx project with the directive; return (page text, warnings)."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        f"extensions = ['results_appendix']\nresults_appendix_dir = {str(results_dir)!r}\n")
    (src / "index.rst").write_text("Results\n=======\n\n.. results-appendix::\n")
    for docs in ra.CHAPTERS.values():
        for doc in docs:
            page = src / f"{doc}.rst"
            page.parent.mkdir(parents=True, exist_ok=True)
            title = Path(doc).name
            page.write_text(f":orphan:\n\n{title}\n{'=' * len(title)}\n")
    warnings = io.StringIO()
    with docutils_namespace():  # each build registers its nodes and directives afresh
        app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"),
                     "html", status=None, warning=warnings, freshenv=True)
        app.build()
    page = (tmp_path / "out" / "index.html").read_text()
    body = re.search(r'<section id="results">(.*?)</section>', page, re.S).group(1)
    return body, warnings.getvalue()


def _rows(body) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell))).strip() for cell in
             re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)] for row in rows]


def test_directive_lists_every_recorded_result(tmp_path, results):
    body, warnings = _build(tmp_path, results)
    assert not warnings, warnings
    header, *rows = _rows(body)
    assert header == list(ra.HEADER)
    assert [r[0].split()[0] for r in rows] == ["balance", "resnet_fmnist"]  # no *-smoke.json
    balance, resnet = rows
    assert balance[0] == "balance " + EXPERIMENTS["balance"].description.replace("'", "’")
    assert balance[1] == _numbers("balance") and resnet[1] == _numbers("resnet_fmnist")
    assert balance[2] == "python -m dlnft.experiments balance --scale full"
    assert balance[3] == ("cpu (x86_64) 2026-11-22 wall time 42 s 1 run, 1 seed "
                          "commit 0123456789+dirty")
    assert resnet[3] == ("NVIDIA H100 80GB HBM3 2026-11-20 to 2026-11-22 wall time 3.0 h "
                         "6 runs, 3 seeds, 2 missing commit 0123456789")
    # the chapter numbers are links to the chapters
    for doc in ra.CHAPTERS["balance"] + ra.CHAPTERS["resnet_fmnist"]:
        number = int(Path(doc).name.split("_")[0])
        assert re.search(rf'href="{doc}.html"[^>]*>.*?>{number}<', body, re.S), doc


def test_directive_says_none_for_an_experiment_no_chapter_reads(tmp_path, results,
                                                                monkeypatch):
    monkeypatch.setitem(ra.CHAPTERS, "balance", ())
    body, warnings = _build(tmp_path, results)
    assert not warnings, warnings
    assert _rows(body)[1][1] == "none"


def test_directive_warns_on_a_run_that_load_leaves_out(tmp_path, results):
    path = results / "balance.json"
    data = json.loads(path.read_text())
    data["runs"][0]["metrics"]["pt"]["test_acc"] = 0.9          # edited by hand
    path.write_text(json.dumps(data))
    body, warnings = _build(tmp_path, results)
    assert f"{path}: run 0 is left out (its checksum does not match" in warnings, warnings
    assert "0 runs, 0 seeds" in _rows(body)[1][3]


def test_directive_says_when_nothing_is_recorded(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "resnet-smoke.json").write_text(json.dumps(_merged("resnet", [])))
    body, warnings = _build(tmp_path, empty)
    assert not warnings, warnings
    assert "<table" not in body
    text = re.sub(r"<[^>]+>", "", body)
    assert "No full-scale result is recorded yet" in text
    assert "python -m dlnft.experiments NAME --scale full" in text


def test_directive_warns_on_a_file_it_cannot_place(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = {"unknown.json": _merged("unknown", []),          # not in the registry
           "modular.json": _merged("resnet", []),           # another experiment's results
           "resnet.json": {"name": "resnet", "runs": []}}   # not a merged file
    for name, content in bad.items():
        (folder / name).write_text(json.dumps(content))
    body, warnings = _build(tmp_path, folder)
    for message in ("'unknown', which dlnft.experiments.EXPERIMENTS does not know",
                    "modular.json holds the results of 'resnet'", "cannot read"):
        assert message in warnings, warnings
    assert "No full-scale result is recorded yet" in re.sub(r"<[^>]+>", "", body)


def test_directive_warns_on_an_experiment_without_a_chapter(tmp_path, results, monkeypatch):
    monkeypatch.delitem(ra.CHAPTERS, "resnet_fmnist")
    body, warnings = _build(tmp_path, results)
    assert "no chapter is given for 'resnet_fmnist'" in warnings, warnings
    assert [r[0].split()[0] for r in _rows(body)[1:]] == ["balance"]
