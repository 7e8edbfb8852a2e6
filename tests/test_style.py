"""The package's source stays readable: no line of dlnft/ wider than 99 characters."""
from __future__ import annotations

MAX_LINE = 99


def test_no_line_of_the_package_is_wider_than_99_characters(root):
    wide = [f"{path.relative_to(root)}:{number} ({len(line)} characters)"
            for path in sorted((root / "dlnft").rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), start=1)
            if len(line) > MAX_LINE]
    assert not wide, "lines wider than 99 characters:\n" + "\n".join(wide)
