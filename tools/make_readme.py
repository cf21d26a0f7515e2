"""Render README.md from index.ipynb offline (nbdev-readme needs Quarto, which cannot be installed here).

Run from the repository root: `python tools/make_readme.py`. CI checks README.md is up to date.
Cells marked `#| hide` are left out; cells marked `#| echo: false` show their outputs without their code; nbdev
directives (`#| ...`) are stripped; text outputs are kept, and PNG outputs are written to `images/` and linked.
"""
import base64
from pathlib import Path
import nbformat

IMAGES = 'images'

def directives(c):
    return {l[2:].strip().replace(' ', '') for l in c.source.splitlines() if l.startswith('#|')}

def output_md(o, name, root):
    "Markdown of one output; a PNG is written to IMAGES/name"
    if o.output_type == 'stream': return f"```\n{o.text.strip()}\n```"
    data = o.get('data', {})
    if 'image/png' in data:
        (root / IMAGES).mkdir(exist_ok=True)
        (root / IMAGES / name).write_bytes(base64.b64decode(data['image/png']))
        return f"![]({IMAGES}/{name})"
    if 'text/markdown' in data: return data['text/markdown']
    if 'text/plain' in data: return f"```\n{data['text/plain'].strip()}\n```"
    return ''

def cell_md(c, i, root):
    if c.cell_type == 'markdown': return c.source
    d = directives(c)
    if c.cell_type != 'code' or 'hide' in d: return ''
    code = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|')).strip()
    parts = [f"```python\n{code}\n```"] if code and 'echo:false' not in d else []
    parts += [output_md(o, f'index_{i}_{k}.png', root) for k, o in enumerate(c.get('outputs', []))]
    return '\n\n'.join(p for p in parts if p)

def main(root=Path(__file__).resolve().parent.parent):
    nb = nbformat.read(root / 'index.ipynb', as_version=4)
    for old in (root / IMAGES).glob('index_*.png'): old.unlink()
    parts = [p for p in (cell_md(c, i, root) for i, c in enumerate(nb.cells)) if p.strip()]
    (root / 'README.md').write_text('<!-- Generated from index.ipynb by `python tools/make_readme.py`: edit the notebook, not this file. -->\n\n'
                                    + '\n\n'.join(parts) + '\n')

if __name__ == '__main__': main()
