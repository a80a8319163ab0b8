"""Generates tests/corpus/anchor cases. Expected values are located by text search in
the hand-written after-files (truth), never by running the engine."""
import os, shutil, sys
OUT = sys.argv[1]

def line_of(text, sub, nth=1):
    hits = [i + 1 for i, l in enumerate(text.split("\n")) if sub in l]
    assert len(hits) >= nth, (sub, hits)
    return hits[nth - 1]

def apply(text, edits):
    for old, new in edits:
        assert text.count(old) == 1, ("not unique", old, text.count(old))
        text = text.replace(old, new)
    return text

def cut(text, snippet):
    assert text.count(snippet) == 1, snippet
    return text.replace(snippet, "")

def emit(lang, ext, base, c):
    name = f"{lang}_{c['id']}"
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    after = c["after"](base) if callable(c["after"]) else apply(base, c["after"])
    at = c["at"]
    line = line_of(base, at[0], at[1] if len(at) > 1 else 1)
    with open(os.path.join(d, f"before.{ext}"), "w") as f: f.write(base)
    with open(os.path.join(d, f"after.{ext}"), "w") as f: f.write(after)
    toml = [f'edit = "{c["edit"]}"', f"line = {line}", "", "[expected]", f'status = "{c["status"]}"']
    if c["status"] in ("found", "renamed"):
        h = c["head"]
        toml.append(f"line = {line_of(after, h[0], h[1] if len(h) > 1 else 1)}")
        toml.append(f'name = "{c["name"]}"')
    with open(os.path.join(d, "case.toml"), "w") as f: f.write("\n".join(toml) + "\n")

LANGS = []
def lang(name, ext, base, cases):
    LANGS.append((name, ext, base, cases))

exec(open(os.path.join(os.path.dirname(__file__), "cases.py")).read())
exec(open(os.path.join(os.path.dirname(__file__), "cases2.py")).read())

for d in os.listdir(OUT) if os.path.isdir(OUT) else []:
    if os.path.isfile(os.path.join(OUT, d, "case.toml")):
        shutil.rmtree(os.path.join(OUT, d))
n = 0
for name, ext, base, cases in LANGS:
    for c in cases:
        emit(name, ext, base, c); n += 1
print(n, "cases")
