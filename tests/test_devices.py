import pytest

from rhetoric.devices import DEVICE_IDS, DEVICES, PTC_DEVICE_IDS, from_ptc, from_semeval, get_device

PTC_NAMES = """Appeal_to_Authority Appeal_to_fear-prejudice Bandwagon Black-and-White_Fallacy
Causal_Oversimplification Doubt Exaggeration,Minimisation Flag-Waving Loaded_Language
Name_Calling,Labeling Obfuscation,Intentional_Vagueness,Confusion Red_Herring Reductio_ad_hitlerum
Repetition Slogans Straw_Men Thought-terminating_Cliches Whataboutism""".split()


def test_twenty_devices_eighteen_from_ptc():
    assert len(DEVICES) == 20 and len(set(DEVICE_IDS)) == 20
    assert len(PTC_DEVICE_IDS) == 18
    assert {"appeal_to_history", "us_vs_them"} == set(DEVICE_IDS) - set(PTC_DEVICE_IDS)


def test_every_ptc_technique_maps_to_a_device():
    assert sorted(from_ptc(n) for n in PTC_NAMES) == sorted(PTC_DEVICE_IDS)


def test_ids_are_snake_case_and_documented():
    for d in DEVICES:
        assert d.id == d.id.lower() and " " not in d.id
        assert d.name and d.definition.endswith(".")


@pytest.mark.parametrize("name,expected", [
    ("Black-and-white Fallacy/Dictatorship", "black_and_white_fallacy"),
    ("Presenting Irrelevant Data (Red Herring)", "red_herring"),
    ("Smears", None),
    ("Glittering generalities (Virtue)", None),
])
def test_semeval_names(name, expected):
    assert from_semeval(name) == expected


def test_unknown_ids_raise_with_the_known_ones():
    with pytest.raises(KeyError, match="loaded_language"):
        get_device("propaganda")
    with pytest.raises(KeyError):
        from_ptc("Loaded language")
