"""The data manifest: it describes the real data exactly, and verify/CLI flag bad folders."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from routellm_py.data.manifest import MANIFEST_PATH, check_files, load_manifest, verify

REPO = Path(__file__).resolve().parents[2]


def test_real_data_matches_manifest(data_dir):
    assert verify(data_dir) == []


def test_manifest_records_provenance_and_counts(data_dir):
    m = load_manifest()
    sources = json.loads((data_dir / "SOURCES.json").read_text())
    commits = set(sources.values())
    for name, ds in m["datasets"].items():
        assert ds["license"] and ds["description"], name
        assert ds["source"]["commit"] in commits, name
        assert re.fullmatch(r"[0-9a-f]{40}", ds["source"]["commit"])
        for f in ds["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), f["path"]
    files = {f["path"]: f for ds in m["datasets"].values() for f in ds["files"]}
    mmlu = [f for p, f in files.items() if p.startswith("benchmarks/mmlu/responses/")]
    assert len(mmlu) == 57 and sum(f["rows"] for f in mmlu) == 14042
    assert files["benchmarks/gsm8k/gsm8k_responses.csv"]["rows"] == 1319
    assert files["benchmarks/mt_bench/question.jsonl"]["rows"] == 80
    assert files["preferences/alpaca_eval/judgments.csv.gz"]["rows"] == 108601
    # row counts re-read independently for two files
    assert (
        len(pd.read_csv(data_dir / "gold/routerbench/mbpp_train.csv"))
        == files["gold/routerbench/mbpp_train.csv"]["rows"]
    )
    assert "CC BY-NC" in m["datasets"]["alpaca-eval"]["license"]


def test_verify_reports_missing_and_mismatch(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.txt").write_text("beta")
    sha = hashlib.sha256(b"alpha").hexdigest()
    manifest = {
        "datasets": {
            "toy": {
                "files": [
                    {"path": "a.txt", "sha256": sha},
                    {"path": "b.txt", "sha256": sha},
                    {"path": "sub/c.txt", "sha256": sha},
                ]
            }
        }
    }
    statuses = [c.status for c in check_files(tmp_path, manifest)]
    assert statuses == ["OK", "MISMATCH", "MISSING"]
    problems = verify(tmp_path, manifest)
    assert problems[0].startswith(
        "MISMATCH: b.txt (toy): sha256 " + hashlib.sha256(b"beta").hexdigest()
    )
    assert problems[1] == "MISSING: sub/c.txt (toy)"


def test_readme_points_at_the_packaged_manifest():
    readme = (REPO / "data" / "README.md").read_text()
    assert "routellm_py/data/manifest.json" in readme
    assert MANIFEST_PATH == REPO / "routellm_py" / "data" / "manifest.json"
