"""Training provenance: `train_router`, `Router.fit`'s record, and decontamination that reads
the checkpoint's prompt digests from any working directory, never the training data."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from routellm_py.benchmarks import harness as H
from routellm_py.cli import main
from routellm_py.data.battles import Battles
from routellm_py.data.digests import contains, normalise, prompt_digests
from routellm_py.data.evalset import load_eval_set
from routellm_py.lab.train import add_provenance, resolve_spec, train_router
from routellm_py.routers.base import Router, load_router
from routellm_py.routers.mf import MFRouter
from routellm_py.routers.provenance import PROMPTS_FILE

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
FAST = dict(encoder="hashing:1024", dim=8, lr=0.05, max_epochs=3, patience=2, batch_size=64)
WORDS = [f"w{i:03d}" for i in range(600)]


def long_prompt(i: int) -> str:
    """40 words no other prompt shares: distinct prompts are far apart under hashing."""
    return "question " + " ".join(WORDS[40 * (i % 15) : 40 * (i % 15 + 1)]) + f" case {i}"


EVAL = [long_prompt(i) for i in range(15)]
# training: eval 0 verbatim, eval 1 with other whitespace (same digest), eval 2 plus one word
# (a near duplicate: cosine ~0.99 under hashing), and prompts the eval set does not hold
TRAIN = [EVAL[0], "  " + EVAL[1].replace(" ", "   \n"), EVAL[2] + " please"]
TRAIN += [f"unrelated training prompt number {i} about gardens" for i in range(6)]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELLM_PY_CACHE", str(tmp_path / "cache"))


def write_prefs(path):
    rows = [(p, STRONG, WEAK, "model_a" if i % 2 else "model_b") for i, p in enumerate(TRAIN)]
    pd.DataFrame(rows * 3, columns=["prompt", "model_a", "model_b", "winner"]).to_csv(
        path, index=False
    )
    return path


def write_eval(path):
    score = [float(i % 3 != 0) for i in range(len(EVAL))]
    pd.DataFrame({"prompt": EVAL, "strong_score": score, "weak_score": 0.5}).to_csv(path)
    return path


def bench(checkpoint, eval_csv):
    evalset = load_eval_set(f"csv:{eval_csv}", STRONG, WEAK)
    res = H.run_benchmark([str(checkpoint)], [evalset], out=None, progress=False)
    return res[evalset.name]


def test_digests_normalise_whitespace_and_unicode_only():
    assert normalise("  a \n\t b\u00a0c ") == "a b c"  # NBSP is a space under NFKC
    d = prompt_digests(["a b", " a  b", "A b", "ﬁle"])  # the ligature is "fi" under NFKC
    assert d.dtype == np.uint64 and len(d) == 3 and np.all(np.diff(d.astype(float)) > 0)
    expected = int.from_bytes(hashlib.sha256(b"a b").digest()[:8], "big")
    assert expected in d.tolist()
    assert contains(d, ["a\tb", "file", "a c", "A  b"]).tolist() == [True, True, False, True]
    assert contains(prompt_digests([]), ["x"]).tolist() == [False]


def test_fit_from_python_records_provenance_and_a_refit_replaces_it(tmp_path):
    router = MFRouter(**FAST).fit(load_csv(write_prefs(tmp_path / "p.csv")), progress=False)
    prov = router.provenance
    assert prov["n_prompts"] == len(TRAIN) and prov["n_battles"] == 3 * len(TRAIN)
    assert prov["library_version"] == "0.1.0" and prov["trained_at"].endswith("+00:00")
    assert prov["near_duplicates"]["encoder"] == "hashing:1024"
    np.testing.assert_array_equal(router.prompt_record.digests, prompt_digests(TRAIN))
    assert router.prompt_record.embeddings().shape == (len(TRAIN), 1024)
    frame = load_csv(tmp_path / "p.csv").frame
    router.fit(Battles(frame[frame["prompt"].isin(TRAIN[3:])]), progress=False)
    assert router.provenance["n_prompts"] == len(TRAIN) - 3  # a refit records afresh
    assert not contains(router.prompt_record.digests, TRAIN[:3]).any()


def load_csv(path) -> Battles:
    from routellm_py.data.adapters import load_table

    return load_table(path)


def test_python_trained_router_benchmarked_elsewhere_drops_its_training_prompts(
    tmp_path, monkeypatch
):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.chdir(a)
    router = MFRouter(**FAST).fit(load_csv(write_prefs(a / "prefs.csv")), progress=False)
    router.save("ckpt")  # relative, and no train_router: Router.fit alone records enough
    (a / "prefs.csv").unlink()  # decontamination must not need the training data
    monkeypatch.chdir(b)
    res = bench(a / "ckpt", write_eval(b / "eval.csv"))
    assert res.dropped == {"gold": 0, "train_cosine": 3}
    d = res.decontamination[str(a / "ckpt")]
    assert (d["exact"], d["near"], d["removed"]) == (2, 1, 3)
    assert d["origin"] == str(a / "ckpt" / PROMPTS_FILE)
    assert res.n_evaluated == len(EVAL) - 3 and not set(EVAL[:3]) & set(res.prompts)
    table = res.table.set_index("router")["decontamination"]
    assert table.to_dict() == {
        str(a / "ckpt"): "3 removed",
        "length": "-",  # the baseline rows
        "oracle": "-",
        "random (expected)": "-",
    }
    assert "(2 exact, 1 near; digests from" in H.format_result(res)


def test_relative_data_path_survives_a_bench_from_another_directory(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.chdir(a)
    write_prefs(a / "prefs.csv")
    flags = ["--encoder", "hashing:1024", "--dim", "8", "--max-epochs", "3"]
    assert main(["train", "mf", "--data", "csv:prefs.csv@2", "--out", "ckpt", *flags]) == 0
    config = json.loads((a / "ckpt" / "config.json").read_text())
    prov = config["provenance"]
    assert prov["data"] == f"csv:{a / 'prefs.csv'}@2" and prov["data_given"] == "csv:prefs.csv@2"
    sha = hashlib.sha256((a / "prefs.csv").read_bytes()).hexdigest()
    assert prov["files"] == [{"source": "csv", "path": str(a / "prefs.csv"), "sha256": sha}]
    monkeypatch.chdir(b)
    out = b / "results"
    args = ["bench", "--routers", str(a / "ckpt"), "--eval-set", f"csv:{write_eval(b / 'e.csv')}"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    meta = json.loads((out / "eval-e.json").read_text())
    assert meta["dropped"]["train_cosine"] == 3
    assert meta["decontamination"][str(a / "ckpt")]["exact"] == 2
    # the texts are still reachable for those who need them (calibration): the path is absolute
    assert set(H.training_prompts(load_router(a / "ckpt"), None)) == set(TRAIN)


class _Stub(Router):
    name = "test-stub-trained"

    def _win_rate(self, prompts):
        return np.full(len(prompts), 0.5)


def test_router_without_provenance_is_reported_loudly(tmp_path):
    stub = _Stub(STRONG, WEAK)
    stub.provenance = {"data": "csv:/nowhere/prefs.csv"}  # a spec alone is not read any more
    evalset = load_eval_set(f"csv:{write_eval(tmp_path / 'e.csv')}", STRONG, WEAK)
    with pytest.warns(UserWarning, match="'stub' has no recorded training prompts"):
        res = H.run_benchmark({"stub": stub}, [evalset], out=None, progress=False)[evalset.name]
    assert res.dropped["train_cosine"] == 0 and res.n_evaluated == len(EVAL)
    assert res.table.set_index("router").loc["stub", "decontamination"] == "NO PROVENANCE"
    assert res.decontamination["stub"]["origin"] == "NO PROVENANCE"
    assert "WARNING stub: NO PROVENANCE" in H.format_result(res)


def test_train_router_spec_and_init(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_prefs(tmp_path / "prefs.csv")
    base = train_router("mf", "csv:prefs.csv", "base", **FAST)
    warm = train_router("mf", "csv:prefs.csv", init="base", lr=0.0)
    assert warm.get_params()["dim"] == 8 and warm.get_params()["lr"] == 0.0
    assert warm.provenance["init"]["fingerprint"] == base.fingerprint()
    assert warm.provenance["init"]["checkpoint"] == str(tmp_path / "base")
    assert warm.provenance["init"]["data"] == f"csv:{tmp_path / 'prefs.csv'}"
    with pytest.raises(ValueError, match="'sw_ranking' cannot warm-start: its fit takes no init"):
        train_router("sw_ranking", "csv:prefs.csv", init="base")
    load_router("length").save("len")
    with pytest.raises(ValueError, match="len holds a 'length' router, not 'mf'"):
        train_router("mf", "csv:prefs.csv", init="len")
    with pytest.raises(FileNotFoundError, match=r"csv: no such file 'gone.csv' \(looked in"):
        train_router("mf", "csv:gone.csv", **FAST)
    with pytest.raises(ValueError, match=r"give \['dim'\] to the Router you pass"):
        train_router(MFRouter(**FAST), "csv:prefs.csv", dim=4)


def test_digests_only_checkpoint_drops_exact_duplicates_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_prefs(tmp_path / "prefs.csv")
    train_router("mf", "csv:prefs.csv", "small", digests_only=True, **FAST)
    with np.load(tmp_path / "small" / PROMPTS_FILE) as z:
        assert sorted(z) == ["digests"]
    assert "near_duplicates" not in load_router(tmp_path / "small").provenance
    res = bench(tmp_path / "small", write_eval(tmp_path / "e.csv"))
    d = res.decontamination[str(tmp_path / "small")]
    assert (d["exact"], d["near"]) == (2, None) and EVAL[2] in res.prompts
    assert d["note"] == "prompt digests only, no training-prompt embeddings"
    assert res.table["decontamination"].iloc[0] == "2 removed (exact only)"


def test_resolve_spec_feedback_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fb.db").write_bytes(b"x")
    spec, files = resolve_spec("feedback:sqlite:///fb.db,arena-bench-v1@0.5")
    assert spec == f"feedback:sqlite:///{tmp_path / 'fb.db'},arena-bench-v1@0.5"
    assert files[0]["sha256"] == hashlib.sha256(b"x").hexdigest()
    spec, files = resolve_spec("feedback:postgresql://bob:secret@db.example:5432/fb")
    assert spec == "feedback:postgresql://bob:***@db.example:5432/fb" and files == []


def test_add_provenance_to_a_checkpoint_saved_without_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_prefs(tmp_path / "prefs.csv")
    router = MFRouter(**FAST).fit(load_csv(tmp_path / "prefs.csv"), progress=False)
    router.prompt_record = None  # as checkpoints written before provenance.npz existed
    router.provenance = {"data": f"csv:{tmp_path / 'prefs.csv'}", "n_battles": 27}
    ckpt = router.save(tmp_path / "old")
    assert not (ckpt / PROMPTS_FILE).exists()
    weights = (ckpt / "mf.safetensors").read_bytes()
    add_provenance(ckpt)
    again = load_router(ckpt)
    np.testing.assert_array_equal(again.prompt_record.digests, prompt_digests(TRAIN))
    assert again.provenance["n_battles"] == 27 and "prompts_recorded_at" in again.provenance
    assert (ckpt / "mf.safetensors").read_bytes() == weights
    np.testing.assert_allclose(again.win_rate(EVAL), router.win_rate(EVAL))


def test_shipped_routers_carry_their_training_digests():
    for name in ("mf", "sw_ranking"):
        r = load_router(name)
        assert r.provenance["n_prompts"] == len(r.prompt_record.digests) == 19502
        assert r.prompt_record.embeddings().shape == (19502, 256)
