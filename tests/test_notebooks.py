"The notebooks are the source: each cell id must be unique, or nbdev-clean renumbers one and the export drifts."
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob('nbs/**/*.ipynb')) + [ROOT / 'index.ipynb']


def test_cell_ids_unique():
    repeated = {}
    for nb in NOTEBOOKS:
        ids = Counter(c.get('id') for c in json.loads(nb.read_text())['cells'])
        dup = sorted(str(k) for k, n in ids.items() if n > 1 or k is None)
        if dup: repeated[str(nb.relative_to(ROOT))] = dup
    assert not repeated, f"repeated or missing cell ids (give each cell its own id): {repeated}"


def test_found_notebooks():
    assert len(NOTEBOOKS) > 15 and (ROOT / 'nbs' / '22_finetune.ipynb') in NOTEBOOKS
