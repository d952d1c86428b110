#!/usr/bin/env python3
"""Differential check of aigate's chat-template analysis against Jinja2's own parser.

aigate reads a chat template with its own tokenizer and never renders it. Here the same template
is parsed by Jinja2 (`jinja2.Environment().parse`: the lexer and parser that `apply_chat_template`
and llama.cpp's Python bindings compile templates with; nothing is rendered, no template code runs),
and its syntax tree is judged by what a sandbox escape needs:

  unsafe   an attribute or constant subscript named like Python internals (`_…`, `os`, `popen`,
           `__globals__`, …), a name starting `__`, or `|attr("…")` with such a name
  dynamic  `|attr(x)` with a name computed at render time, or a string constant holding `__`
  escape   a global that escapes start from (`lipsum`, `cycler`, `joiner`, `self`, …)

For every template among the fixtures (tokenizer_config.json, chat_template.jinja) and mutants of
them (real gadget pieces spliced into their expressions, characters dropped or doubled), a
template Jinja2 parses and the tree-judge flags must be flagged by aigate (some `template-*`
finding): a template aigate passes and Jinja2 would compile into an escape is a defect. The
benign fixtures must parse and be clean both ways. A mutant Jinja2 refuses to parse is never
rendered by a loader and is only counted.

    python3 oracles/template_oracle.py target/release/aigate [--mutations N] [--seed S]
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "formats"

# As aigate's template analysis names them (crates/aigate-scan/src/template.rs).
UNSAFE_NAMES = {"os", "popen", "system", "subprocess", "eval", "exec", "execfile", "compile",
                "import_module", "getattr", "setattr", "globals", "builtins", "modules",
                "func_globals", "f_globals", "gi_frame", "cr_frame", "mro"}
ESCAPE_GLOBALS = {"lipsum", "cycler", "joiner", "self", "config", "request", "url_for",
                  "get_flashed_messages"}

# Pieces of the published escapes (CVE-2024-34359, the SSTI cheat sheets), spliced into
# expressions of real templates.
GADGETS = [
    ".__class__", ".__init__.__globals__", "['__globals__']", "|attr('__class__')",
    "|attr(name)", ".os", ".popen('id')", ".__subclasses__()", "[\"__builtins__\"]",
    "|attr('\\x5f\\x5fclass\\x5f\\x5f')", ".__mro__", ".system",
]
EXPRESSIONS = [
    "lipsum.__globals__", "cycler.__init__.__globals__.os.popen('id').read()",
    "self.__init__.__globals__", "joiner.__init__", "()|attr('__class__')",
    "'a'.__class__.__mro__[1].__subclasses__()", "x['__globals__']", "__import__",
    "'%c%c'|format(95, 95)", "config.items()",
]


def unsafe_name(name):
    return name.startswith("_") or name in UNSAFE_NAMES


def judge(text):
    """What Jinja2's syntax tree of `text` holds, or None when Jinja2 refuses to parse it."""
    import jinja2
    from jinja2 import nodes
    try:
        tree = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    except Exception:  # a parser crash is a refusal too: no loader renders it
        return None
    found = set()
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr) and unsafe_name(node.attr):
            found.add("unsafe")
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and unsafe_name(node.arg.value):
            found.add("unsafe")
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            if node.name.startswith("__"):
                found.add("unsafe")
            elif node.name in ESCAPE_GLOBALS:
                found.add("escape")
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            arg = node.args[0] if node.args else None
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                if unsafe_name(arg.value):
                    found.add("unsafe")
            else:
                found.add("dynamic")
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and "__" in node.value:
            found.add("dynamic")
    return found


def templates():
    """(name, template, benign) for every chat template among the format fixtures."""
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        benign = "benign" in path.relative_to(FIXTURES).parts
        if path.name == "tokenizer_config.json":
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            template = config.get("chat_template")
            if isinstance(template, str):
                out.append((str(path.relative_to(REPO)), template, benign))
            elif isinstance(template, list):
                for i, entry in enumerate(template):
                    if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                        out.append((f"{path.relative_to(REPO)}[{i}]", entry["template"], benign))
        elif path.name.endswith(".jinja"):
            out.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8", errors="replace"), benign))
    return out


def expression_ends(text):
    """Offsets just before each `}}` that closes an expression."""
    ends, at = [], 0
    while True:
        at = text.find("}}", at)
        if at < 0:
            return ends
        ends.append(at)
        at += 2


def mutate(text, rng):
    choice = rng.randrange(4)
    ends = expression_ends(text)
    if choice == 0 and ends:
        at = rng.choice(ends)
        # Before the closing braces, after any whitespace-control dash and spaces.
        while at > 0 and text[at - 1] in " -":
            at -= 1
        return text[:at] + rng.choice(GADGETS) + text[at:]
    if choice == 1:
        starts = [i for i in range(len(text)) if text.startswith("{{", i)] or [0]
        at = rng.choice(starts)
        return text[:at] + "{{ " + rng.choice(EXPRESSIONS) + " }}" + text[at:]
    if not text:
        return text
    at = rng.randrange(len(text))
    if choice == 2:
        return text[:at] + text[at + 1:]
    return text[:at] + text[at] + text[at:]


def aigate_rules(aigate, template, scratch, n):
    folder = scratch / f"case{n}"
    folder.mkdir()
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}), encoding="utf-8")
    out = subprocess.run([aigate, "scan", "--format", "json", str(folder)],
                         capture_output=True, timeout=60)
    try:
        report = json.loads(out.stdout)
    except ValueError:
        return None
    return {f["rule"] for f in report.get("findings", []) if f["rule"].startswith("template-")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aigate")
    ap.add_argument("--mutations", type=int, default=40, help="mutants per template")
    ap.add_argument("--seed", default="template-oracle")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = []
    for name, text, benign in templates():
        cases.append((name, text, benign))
        for i in range(args.mutations):
            cases.append((f"{name} mutant {i}", mutate(text, rng), False))
    failures, refused, agreed, stricter = [], 0, 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for n, (name, text, benign) in enumerate(cases):
            verdict = judge(text)
            rules = aigate_rules(args.aigate, text, scratch, n)
            if rules is None:
                failures.append((name, "aigate wrote no JSON report"))
                continue
            if verdict is None:
                refused += 1
                if benign:
                    failures.append((name, "a benign fixture Jinja2 does not parse"))
                continue
            if verdict and not rules:
                failures.append((name, f"Jinja2's tree holds {sorted(verdict)}; aigate reports nothing"))
            elif benign and (verdict or rules):
                failures.append((name, f"benign template flagged: tree {sorted(verdict)}, aigate {sorted(rules)}"))
            elif rules and not verdict:
                stricter += 1
            else:
                agreed += 1
    print(f"templates: {len(cases)} cases, {agreed} agree, {stricter} flagged by aigate only, "
          f"{refused} refused by Jinja2, {len(failures)} failing")
    for name, why in failures:
        print(f"FAIL {name}: {why}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
