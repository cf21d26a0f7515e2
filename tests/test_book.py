"""The book reads in order: every chapter uses only modules introduced by the chapters before it, so the modules'
imports have no cycle; and the text speaks of the method and the code, not of documents outside the repository."""
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / 'nbs').glob('[0-9]*.ipynb'))
TUTORIALS = sorted((ROOT / 'nbs' / 'tutorials').glob('*.ipynb'))

def cells(path, kind=None):
    return [''.join(c['source']) for c in json.loads(path.read_text())['cells'] if kind is None or c['cell_type'] == kind]

def chapter_of_module():
    "module name -> the chapter (notebook stem) that exports it"
    out = {}
    for p in CHAPTERS:
        for src in cells(p, 'code'):
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', src, re.M)
            if m: out[m.group(1)] = p.stem
    return out

def modules_used(text):
    "dualhand modules named in `text` (absolute or relative imports, and dotted uses)"
    return set(re.findall(r'dualhand\.(\w+)', text)) | set(re.findall(r'from \.(\w+) import', text))

def test_every_module_has_one_chapter():
    mods = chapter_of_module()
    on_disk = {p.stem for p in (ROOT / 'dualhand').glob('*.py')} - {'__init__', '_modidx'}
    assert on_disk == set(mods), on_disk ^ set(mods)

def test_chapters_use_only_earlier_chapters():
    mods, rank = chapter_of_module(), {p.stem: i for i, p in enumerate(CHAPTERS)}
    late = {}
    for p in CHAPTERS:
        used = modules_used('\n'.join(cells(p, 'code'))) & set(mods)
        bad = sorted(mods[m] for m in used if rank[mods[m]] > rank[p.stem])
        if bad: late[p.stem] = bad
    assert not late, f"chapters that use a later chapter's module: {late}"

def test_module_imports_follow_chapter_order():
    mods, rank = chapter_of_module(), {p.stem: i for i, p in enumerate(CHAPTERS)}
    late = {}
    for m, chapter in mods.items():
        used = modules_used((ROOT / 'dualhand' / f'{m}.py').read_text()) & set(mods)
        bad = sorted(u for u in used if rank[mods[u]] > rank[chapter])
        if bad: late[m] = bad
    assert not late, f"modules importing a later chapter's module (a cycle or a forward use): {late}"

def test_the_book_does_not_cite_documents_outside_the_repository():
    hits = [(p.name, w) for p in CHAPTERS + TUTORIALS + [ROOT / 'index.ipynb']
            for src in cells(p, 'markdown') + cells(p, 'code') for w in ('DESIGN.md', 'CONTRACTS.md', 'STYLE.md')
            if w in src]
    assert not hits, hits
