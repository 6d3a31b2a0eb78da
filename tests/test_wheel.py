"""The wheel: built offline from a copy of the source tree (`pip wheel
--no-build-isolation`, ~1 s), it holds the splitter's parameters, the
held-out list, every lexicon and the model files, and the package runs from
it, finding its data through importlib.resources."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILES = ("manifest.json", "model.npz", "MODEL_CARD.md")


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of `source` into `out` with this interpreter's setuptools."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(out)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "bdist_wheel" in done.stdout + done.stderr:
        pytest.skip("this setuptools cannot build wheels offline (it needs >= 70.1 or the `wheel` package; "
                    "pip install '.[test]' brings setuptools>=70.1)")
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("rhetoric_tagger-*.whl")
    return wheel


def copy_tree(target: Path, model: Path | None) -> Path:
    """The files the build reads, copied (an in-tree build would write build/
    and *.egg-info into the working tree others are using); `model`, if given,
    stands in for the shipped model in models/."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "rhetoric", target / "rhetoric", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", target / "models")
    if model is not None:
        for name in ("manifest.json", "model.npz"):
            shutil.copy(model / name, target / "models" / name)
        (target / "models" / "MODEL_CARD.md").write_text("# toy model card\n", encoding="utf-8")
    return target


def expected_data_files() -> list[str]:
    """Package data the library reads at run time, as paths inside the wheel."""
    files = ["rhetoric/data/punkt_en.json", "rhetoric/data/holdout.txt"]
    files += [f"rhetoric/lexicons/{p.name}" for p in sorted((ROOT / "rhetoric" / "lexicons").glob("*.json"))]
    return files


def has_shipped_model() -> bool:
    return (ROOT / "models" / "manifest.json").is_file()


@pytest.fixture(scope="module")
def toy_wheel(tmp_path_factory, toy_model_dir) -> Path:
    """The wheel, with the toy model in models/ when no model is shipped yet."""
    source = copy_tree(tmp_path_factory.mktemp("source"), None if has_shipped_model() else toy_model_dir)
    return build_wheel(source, tmp_path_factory.mktemp("dist"))


def test_wheel_holds_splitter_data_holdout_list_lexicons_and_model_files(toy_wheel) -> None:
    names = set(zipfile.ZipFile(toy_wheel).namelist())
    assert len(expected_data_files()) >= 22  # punkt, holdout, 20 devices' lexicons
    missing = [f for f in expected_data_files() + [f"rhetoric/models/{m}" for m in MODEL_FILES] if f not in names]
    assert not missing, f"not in {toy_wheel.name}: {missing}"
    assert not [n for n in names if n.startswith(("tests/", "seeds/", "scripts/", "models/"))]


def test_the_package_runs_from_the_wheel_with_its_model(toy_wheel, tmp_path) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(toy_wheel).extractall(installed)  # a pure-Python wheel: unpacked is installed
    script = ("import json, rhetoric; from rhetoric.model import default_model_dir; "
              "from rhetoric.tagger import Tagger; "
              "t = Tagger.load(); r = t.tag('They want to erase our glorious history. Vile lies!'); "
              "print(json.dumps({'file': rhetoric.__file__, 'model_dir': str(default_model_dir()), "
              "'has_model': t.model is not None, 'sentences': len(r.sentences), 'tags': len(r.tags)}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(installed)}, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["file"]).is_relative_to(installed) and Path(report["model_dir"]).is_relative_to(installed)
    assert report["has_model"] and report["sentences"] == 2


def test_wheel_holds_the_shipped_model(tmp_path) -> None:
    if not has_shipped_model():
        pytest.skip("models/ has no trained model yet (no models/manifest.json): nothing shipped to check")
    (tmp_path / "source").mkdir()
    wheel = build_wheel(copy_tree(tmp_path / "source", None), tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        for name in MODEL_FILES:
            assert archive.read(f"rhetoric/models/{name}") == (ROOT / "models" / name).read_bytes()
