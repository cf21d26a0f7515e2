"""Render README.md from index.ipynb offline (nbdev-readme needs Quarto, which cannot be installed here).

Run from the repository root: `python tools/make_readme.py`. CI checks README.md is up to date.
Cells marked `#| hide` are left out; nbdev directives (`#| ...`) are stripped; text outputs are kept,
images are not (the README stays a single file).
"""
from pathlib import Path
import nbformat

def cell_md(c):
    if c.cell_type == 'markdown': return c.source
    if c.cell_type != 'code': return ''
    lines = c.source.splitlines()
    if any(l.strip() in ('#| hide', '#|hide') for l in lines): return ''
    code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    out = []
    for o in c.get('outputs', []):
        if o.output_type == 'stream': out.append(o.text)
        elif 'text/markdown' in o.get('data', {}): out.append(o.data['text/markdown'])
        elif 'text/plain' in o.get('data', {}) and 'image/png' not in o.get('data', {}): out.append(o.data['text/plain'])
    md = f"```python\n{code}\n```" if code else ''
    text = ''.join(out).strip()
    return md + (f"\n\n```\n{text}\n```" if text else '')

def main(root=Path(__file__).resolve().parent.parent):
    nb = nbformat.read(root/'index.ipynb', as_version=4)
    parts = [p for p in map(cell_md, nb.cells) if p.strip()]
    (root/'README.md').write_text('<!-- Generated from index.ipynb by `python tools/make_readme.py`: edit the notebook, not this file. -->\n\n'
                                 + '\n\n'.join(parts) + '\n')

if __name__ == '__main__': main()
