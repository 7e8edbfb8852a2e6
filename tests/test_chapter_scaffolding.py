"""The reader's scaffolding of all chapters, links between pages, and result captions.

Every chapter opens with its prerequisites (linked) and a reading time that matches its
length, ends with 2 to 4 exercises (sphinx-exercise), each with a collapsed solution that runs
code and checks its answer with an assert, and says "chapter N" in its prose and headings only
as a link to that chapter. The reference pages link every chapter they name too. The caption of
a result figure of chapters 5 and 7 (recorded deep-network data, or theory against trained
networks) ends with a sentence that states the outcome with its numbers, each a number the
chapter prints; the other chapters assert what their captions say in the figure's cell.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLDED = ["chapters/01_conservation.md", "chapters/02_implicit_bias.md",
              "chapters/03_reuse.md", "chapters/04_generalization.md",
              "chapters/05_regimes.md", "chapters/06_resnets.md",
              "chapters/07_transformers.md", "chapters/08_conclusion.md"]
REFERENCE = ["notation.md", "glossary.md", "results.md", "bibliography.md",
             *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "api").rglob("*.md"))]
WORDS_PER_MINUTE = 200


def prose(text: str) -> str:
    """The text a reader reads: no front matter, code cells, math or directive options."""
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```\{(?:code-cell|eval-rst)\}.*?\n```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " formula ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " x ", text)
    return re.sub(r"^:.*$", "", text, flags=re.M)


def words(text: str) -> int:
    return len(re.findall(r"[A-Za-zα-ω0-9][\w'’.-]*", prose(text)))


def bare_chapter_mentions(text: str) -> list[str]:
    """Every "chapter N" (or a number in "chapters N, M and K") of the prose and the headings
    that is not a {doc} link."""
    text = prose(text)
    text = re.sub(r"\{doc\}`[^`]*`", "LINK", text)
    text = re.sub(r"`[^`]*`", "CODE", text)
    found = [m.group(0) for m in re.finditer(r"\b[Cc]hapters?\s+[1-8]\b", text)]
    # further numbers of a list whose first one is a link: "chapters LINK, LINK and 6"
    found += [m.group(0) for m in re.finditer(
        r"[Cc]hapters\s+LINK(?:(?:,|\s+and|\s+or|\s*[–-])\s*LINK)*(?:,|\s+and|\s+or|\s*[–-])"
        r"\s*[1-8]\b", text)]
    return [" ".join(f.split()) for f in found]


@pytest.mark.parametrize("page", SCAFFOLDED)
def test_opening_box_gives_prerequisites_and_reading_time(root, page):
    text = (root / page).read_text()
    box = re.search(r"```\{admonition\} In this chapter\n(.*?)\n```", text, re.S)
    assert box, f"{page} has no opening box"
    pre = re.search(r"\*\*Prerequisites:\*\*(.*)", box.group(1))
    assert pre and "{doc}`" in pre.group(1), f"{page}: no linked prerequisites"
    said = re.search(r"\*\*Reading time:\*\* about (\d+) minutes \((\d+) words", box.group(1))
    assert said, f"{page}: no reading time"
    minutes, stated = int(said.group(1)), int(said.group(2))
    actual = words(text)
    assert abs(stated - actual) <= 0.1 * actual, (
        f"{page} says {stated} words, has {actual}: update its reading time")
    assert minutes == round(stated / WORDS_PER_MINUTE)


@pytest.mark.parametrize("page", SCAFFOLDED)
def test_exercises_have_collapsed_solutions_that_check_their_answer(root, page):
    text = (root / page).read_text()
    exercises = re.findall(r"```\{exercise(?:-start)?\}[^\n]*\n:label: ([\w-]+)", text)
    assert 2 <= len(exercises) <= 4, f"{page}: {len(exercises)} exercises, want 2 to 4"
    assert len(set(exercises)) == len(exercises)
    assert text.index("## Exercises") > text.rindex("Take-aways")     # after the summary
    for label in exercises:
        solution = re.search(r"```\{solution-start\} " + label + r"\n(.*?)```\{solution-end\}",
                             text, re.S)
        assert solution, f"{page}: exercise {label} has no solution"
        body = solution.group(1)
        assert body.startswith(":class: dropdown"), f"{label}: solution is not collapsed"
        cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", body, re.S)
        assert cells and any(re.search(r"^\s*assert ", c, re.M) for c in cells), (
            f"{label}: the solution runs no code that checks its answer")
        assert any("dlnft" in c or re.search(r"\b(summary|report|theory|ib|predictions|"
                                             r"results|regimes|modular|TL)\.", c) for c in cells), (
            f"{label}: the solution does not use dlnft")


@pytest.mark.parametrize("page", SCAFFOLDED + REFERENCE)
def test_every_chapter_named_in_prose_is_a_link(root, page):
    assert bare_chapter_mentions((root / page).read_text()) == []


def test_the_link_check_catches_bare_mentions():
    text = ("As chapter 5 shows, and chapters {doc}`4 <04_generalization>`, "
            "{doc}`5 <05_regimes>` and 6 agree; see {doc}`chapter 3 <03_reuse>`.\n"
            "## Balance (chapter 1)\n## Norms ({doc}`chapter 2 <02_implicit_bias>`)\n"
            "```{code-cell} ipython3\n# chapter 2\n```\n")
    assert bare_chapter_mentions(text) == ["chapter 5", "chapter 1", "chapters LINK, LINK and 6"]


RESULT_FIGURES = {"chapters/05_regimes": ["fig-ch5-check", "fig-ch5-recorded",
                                          "fig-ch5-tlambda"],
                  "chapters/07_transformers": ["fig-ch7-gd-check", "fig-ch7-verdict",
                                               "fig-ch7-recorded", "fig-ch7-first-record"]}
NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d+(?:e[+-]?\d+)?|\d+e[+-]\d+)(?!\w|\.\d)")


def captions(text: str) -> dict[str, str]:
    """{figure name: caption text} of a chapter's myst-nb figure cells."""
    found = re.findall(r":    caption: \|\n((?::      .*\n)+):    name: (\S+)", text)
    return {name: " ".join(line[len(":      "):] for line in body.splitlines())
            for body, name in found}


def last_sentence(caption: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z$])", caption.strip())[-1]


def compared_outputs(notebook: dict) -> str:
    """The text outputs nbval compares: every code cell not tagged nbval-ignore-output."""
    out = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or "nbval-ignore-output" in cell["metadata"].get(
                "tags", []):
            continue
        for o in cell.get("outputs", []):
            out.append("".join(o.get("text", "")))
            out.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


@pytest.mark.parametrize("chapter", RESULT_FIGURES)
def test_result_captions_end_with_the_outcome_in_printed_numbers(root, chapter):
    found = captions((root / f"{chapter}.md").read_text())
    printed = set(NUMBER.findall(compared_outputs(
        json.loads((root / f"{chapter}.ipynb").read_text()))))
    for name in RESULT_FIGURES[chapter]:
        assert name in found, f"{chapter}: no figure {name}"
        numbers = NUMBER.findall(last_sentence(found[name]))
        assert numbers, f"{name}: the caption's last sentence states no number"
        missing = [x for x in numbers if x not in printed]
        assert not missing, f"{name}: {missing} in the caption, not printed by the chapter"


def test_the_caption_check_reads_the_last_sentence():
    text = (":    caption: |\n:      Recorded: the gap (mean, 95% interval). It falls,\n"
            ":      $-0.0145 \\pm 0.0168$ per doubling, under 4.4e-02 and 0.0125.\n"
            ":    name: fig-x\n")
    cap = captions(text)["fig-x"]
    assert last_sentence(cap).startswith("It falls")
    assert NUMBER.findall(last_sentence(cap)) == ["0.0145", "0.0168", "4.4e-02", "0.0125"]
