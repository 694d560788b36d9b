"""`make lint`'s translation check (README "Languages"): fails on

- text a person reads in a template (between tags, or in a title, alt, aria-label, placeholder or data-label
  attribute) that is not inside {% translate %} / {% blocktranslate %};
- a message of the templates or of the Python code (gettext, gettext_lazy, ngettext, pgettext, gettext_noop)
  that the French catalogue lacks, leaves empty or marks fuzzy; a French entry whose %(name)s / {name}
  placeholders differ from its English;
- a compiled catalogue (.mo) that is older than its .po (tools/compile_messages.py rebuilds it).

Pure Python (Django's own template lexer and templatize, polib): no gettext tools needed.
`python tools/i18n_check.py` from the project's root; exit 1 with one line per problem.
"""

import ast
import io
import os
import re
import sys
import tokenize
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dcr_project.settings.test")

import django  # noqa: E402
import polib  # type: ignore[import-untyped]  # noqa: E402

django.setup()

from django.template.base import Lexer, TokenType  # noqa: E402
from django.utils.translation.template import templatize  # noqa: E402

CATALOGUE = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "registered_apps", ROOT / "software_statements", ROOT / "oauth"]
PYTHON_DIRS = [
    ROOT / "core",
    ROOT / "registered_apps",
    ROOT / "software_statements",
    ROOT / "oauth",
    ROOT / "dcr_project",
]
# The API's reference page (/api/docs/) is part of the API: it stays in English, as the API's answers do.
NOT_TRANSLATED = {Path("oauth/templates/oauth/api_docs.html")}
# Words that are the same in every language: the product's name, its logo letter, protocol terms.
SAME_IN_EVERY_LANGUAGE = {"DCR Registry", "D", "jti", "UTC"}
VISIBLE_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder", "data-label"}
TRANSLATE_TAGS = ("translate", "trans", "blocktranslate", "blocktrans")
FUNCTIONS = {"gettext": 1, "gettext_lazy": 1, "gettext_noop": 1, "_": 1, "ngettext": 2, "ngettext_lazy": 2}
CONTEXT_FUNCTIONS = {"pgettext": 1, "pgettext_lazy": 1, "npgettext": 2, "npgettext_lazy": 2}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")
LETTER = re.compile(r"[^\W\d_]")


def template_files() -> Iterator[Path]:
    for folder in TEMPLATE_DIRS:
        for path in sorted(folder.rglob("templates/**/*") if folder != ROOT / "templates" else folder.rglob("*")):
            if path.suffix in (".html", ".txt") and path.relative_to(ROOT) not in NOT_TRANSLATED:
                yield path


class _VisibleText(HTMLParser):
    """Collects readable text and visible attribute values, skipping <code> and <script> content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "script", "style"):
            self.skip += 1
        self.found += [value for name, value in attrs if name in VISIBLE_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.found.append(data)


OPENING = ("blocktranslate", "blocktrans", "comment")
CLOSING = ("endblocktranslate", "endblocktrans", "endcomment")


def _depth_change(contents: str, depth: int) -> int:
    """+1 entering {% blocktranslate %}, {% comment %} or a block of CSS class names ({% block body_class %}),
    -1 leaving one, else 0."""
    words = contents.split()
    name = words[0] if words else ""
    class_block = name == "block" and len(words) > 1 and "class" in words[1]
    if name in OPENING or class_block:
        return 1
    if name in CLOSING or (name == "endblock" and depth):
        return -1
    return 0


def _outside_text(source: str) -> str:
    """The template's text outside the translation tags and comments; each tag or variable a separator."""
    outside: list[str] = []
    depth = 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            depth += _depth_change(token.contents, depth)
            outside.append(" \x00 ")
        elif token.token_type == TokenType.VAR:
            outside.append(" \x00 ")
        elif token.token_type == TokenType.TEXT and depth == 0:
            outside.append(token.contents)
    return "".join(outside)


def untranslated_text(source: str) -> list[str]:
    """Readable text of a template outside the translation tags (template tags and variables removed)."""
    parser = _VisibleText()
    parser.feed(_outside_text(source))
    parser.close()
    pieces = (" ".join(piece.split()).strip(" ·—–-:,.()") for chunk in parser.found for piece in chunk.split("\x00"))
    return [text for text in pieces if text and LETTER.search(text) and text not in SAME_IN_EVERY_LANGUAGE]


def _strings_after(tokens: list[tokenize.TokenInfo], index: int) -> list[tokenize.TokenInfo]:
    """The string tokens of a call's leading arguments (up to the first argument that is not a literal)."""
    strings = []
    for following in tokens[index + 2 :]:
        if following.type == tokenize.STRING:
            strings.append(following)
        elif following.type not in (tokenize.NEWLINE, tokenize.COMMENT) and following.string != ",":
            break
    return strings


def _calls(source: str, functions: dict[str, int], contexts: dict[str, int]) -> Iterator[tuple[str | None, str]]:
    """(context, msgid) of each call with literal strings in Python source (templatize's output too)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type != tokenize.NL]
    for index, token in enumerate(tokens[:-2]):
        is_call = token.type == tokenize.NAME and tokens[index + 1].string == "("
        if not is_call or (token.string not in functions and token.string not in contexts):
            continue
        literals = _literals(_strings_after(tokens, index))
        if token.string in contexts and len(literals) >= 2:
            yield literals[0], literals[1]
        elif token.string in functions and literals:
            yield None, literals[0]


def _literals(strings: list[tokenize.TokenInfo]) -> list[str]:
    """Adjacent string tokens joined (Python's implicit concatenation), split where a comma stood."""
    values: list[str] = []
    previous_end: tuple[int, int] | None = None
    for token in strings:
        value = ast.literal_eval(token.string)
        if not isinstance(value, str) or token.string[:1] in "fF":
            return values
        if previous_end is not None and _only_space_between(previous_end, token.start):
            values[-1] += value
        else:
            values.append(value)
        previous_end = token.end
    return values


_SOURCE_LINES: list[str] = []


def _only_space_between(end: tuple[int, int], start: tuple[int, int]) -> bool:
    """Whether nothing but white space (no comma) separates two string tokens."""
    if end[0] == start[0]:
        return not _SOURCE_LINES[end[0] - 1][end[1] : start[1]].strip()
    tail = _SOURCE_LINES[end[0] - 1][end[1] :]
    between = [tail, *_SOURCE_LINES[end[0] : start[0] - 1], _SOURCE_LINES[start[0] - 1][: start[1]]]
    return not "".join(between).strip()


def messages_of(source: str) -> set[tuple[str | None, str]]:
    global _SOURCE_LINES
    _SOURCE_LINES = source.splitlines(keepends=True) or [""]
    return set(_calls(source, FUNCTIONS, CONTEXT_FUNCTIONS))


def needed_messages() -> dict[tuple[str | None, str], str]:
    """Every message the templates and the Python code ask for, with where it was first seen."""
    needed: dict[tuple[str | None, str], str] = {}
    for path in template_files():
        # templatize's output is Python-like lines for xgettext, not indented as Python: tokenize unindented.
        flat = "\n".join(line.lstrip() for line in templatize(path.read_text(), origin=str(path)).splitlines())
        for key in messages_of(flat):
            needed.setdefault(key, str(path.relative_to(ROOT)))
    for folder in PYTHON_DIRS:
        for path in sorted(folder.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for key in messages_of(path.read_text()):
                needed.setdefault(key, str(path.relative_to(ROOT)))
    return needed


def _entry_problem(entry: Any, msgid: str) -> str | None:
    """What is wrong with a French entry: fuzzy, empty, or placeholders that differ from the English."""
    translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
    if "fuzzy" in entry.flags:
        return "the French entry is fuzzy"
    if not all(translations):
        return "the French entry is empty"
    wanted = set(PLACEHOLDER.findall(msgid + (entry.msgid_plural or "")))
    for translation in translations:
        found = set(PLACEHOLDER.findall(translation))
        # A plural's singular may say "one" instead of its %(count)s; nothing else may differ.
        if not found <= wanted or (not entry.msgid_plural and found != wanted):
            return f"the French placeholders differ: {translation!r}"
    return None


def catalogue_problems(needed: dict[tuple[str | None, str], str]) -> list[str]:
    problems = []
    catalogue = polib.pofile(str(CATALOGUE))
    entries = {(entry.msgctxt, entry.msgid): entry for entry in catalogue if not entry.obsolete}
    for (context, msgid), where in sorted(needed.items(), key=lambda item: item[1]):
        entry = entries.get((context, msgid))
        label = f"{where}: {msgid!r}" + (f" (context {context!r})" if context else "")
        problem = f"missing from {CATALOGUE.relative_to(ROOT)}" if entry is None else _entry_problem(entry, msgid)
        if problem:
            problems.append(f"{label}: {problem}")
    compiled = CATALOGUE.with_suffix(".mo")
    if compiled.exists() and compiled.stat().st_mtime < CATALOGUE.stat().st_mtime:
        problems.append(f"{compiled.relative_to(ROOT)} is older than its .po: run tools/compile_messages.py")
    return problems


def main() -> int:
    problems = []
    for path in template_files():
        for text in untranslated_text(path.read_text()):
            problems.append(f"{path.relative_to(ROOT)}: not marked for translation: {text!r}")
    problems += catalogue_problems(needed_messages())
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} translation problem(s)")
        return 1
    print("translations: every template string is marked and every message has its French")
    return 0


if __name__ == "__main__":
    sys.exit(main())
