"""The model in models/: loads offline without unpickling, matches this
library's rules and splitter, and tags the seeds with valid offsets."""
from pathlib import Path

import pytest

from rhetoric.model import default_model_dir

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
pytestmark = pytest.mark.skipif(not (default_model_dir() / "manifest.json").is_file(),
                                reason="no trained model in models/ (run `rhetoric train`)")


@pytest.fixture(scope="module")
def shipped():
    from rhetoric.tagger import Tagger

    return Tagger.load()


def test_shipped_model_is_loaded(shipped):
    from rhetoric.devices import DEVICE_IDS

    assert shipped.model is not None and shipped.model.devices == list(DEVICE_IDS)
    assert shipped.model.stage2 is not None


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seed_tags_point_into_the_text(shipped, seed):
    text = seed.read_text(encoding="utf-8")
    result = shipped.tag(text)
    assert result.tags
    for t in result.tags:
        assert text[t.start:t.end] == t.text
        assert 0.0 <= t.score <= 1.0


def test_module_level_tag_uses_the_shipped_model():
    import rhetoric

    result = rhetoric.tag("They want to erase our glorious history, and the corrupt elites betray us.")
    assert {t.source for t in result.tags} & {"model", "rule+model"}
