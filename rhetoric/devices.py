"""The catalogue of rhetorical devices: ids, names, definitions, corpus aliases.

The 18 techniques of the Propaganda Techniques Corpus (PTC, 2019 release)
plus two the project labels itself (appeal_to_history, us_vs_them); the
definitions follow ../shared/ANNOTATION.md.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    definition: str
    ptc_alias: str | None  # technique id in PTC label files; None if no corpus has it
    semeval_aliases: tuple[str, ...] = ()  # SemEval-2021 Task 6 technique names


DEVICES: tuple[Device, ...] = (
    Device("loaded_language", "Loaded language",
           "Words with strong emotional charge chosen to sway the audience.",
           "Loaded_Language", ("Loaded Language",)),
    Device("name_calling", "Name calling / labelling",
           "A label meant to make the audience love or hate its object.",
           "Name_Calling,Labeling", ("Name calling/Labeling",)),
    Device("repetition", "Repetition",
           "The same word or phrase repeated to drive a message in.",
           "Repetition", ("Repetition",)),
    Device("exaggeration_minimisation", "Exaggeration / minimisation",
           "Making something far larger or smaller than it is.",
           "Exaggeration,Minimisation", ("Exaggeration/Minimisation",)),
    Device("doubt", "Doubt",
           "Questioning the credibility of someone or something.",
           "Doubt", ("Doubt",)),
    Device("appeal_to_fear_prejudice", "Appeal to fear / prejudice",
           "Stirring fear or prejudice toward an alternative.",
           "Appeal_to_fear-prejudice", ("Appeal to fear/prejudice",)),
    Device("flag_waving", "Flag-waving",
           "Playing on patriotism or group identity to justify an idea.",
           "Flag-Waving", ("Flag-waving",)),
    Device("causal_oversimplification", "Causal oversimplification",
           "One cause given for an issue that has many.",
           "Causal_Oversimplification", ("Causal Oversimplification",)),
    Device("slogans", "Slogans",
           "A short striking phrase, often a call to action or a label.",
           "Slogans", ("Slogans",)),
    Device("appeal_to_authority", "Appeal to authority",
           "A claim is presented as true because an authority says so.",
           "Appeal_to_Authority", ("Appeal to authority",)),
    Device("black_and_white_fallacy", "Black-and-white fallacy",
           "Only two options presented where more exist.",
           "Black-and-White_Fallacy", ("Black-and-white Fallacy/Dictatorship",)),
    Device("thought_terminating_cliche", "Thought-terminating cliché",
           "A phrase that discourages critical thought and ends discussion.",
           "Thought-terminating_Cliches", ("Thought-terminating cliché",)),
    Device("whataboutism", "Whataboutism",
           "Discrediting a position by charging hypocrisy, without refuting it.",
           "Whataboutism", ("Whataboutism",)),
    Device("reductio_ad_hitlerum", "Reductio ad Hitlerum",
           "Rejecting something because a hated group also holds it.",
           "Reductio_ad_hitlerum", ("Reductio ad hitlerum",)),
    Device("red_herring", "Red herring",
           "Irrelevant material that draws attention away from the issue.",
           "Red_Herring", ("Presenting Irrelevant Data (Red Herring)",)),
    Device("bandwagon", "Bandwagon",
           "Everyone does it or believes it, so you should too.",
           "Bandwagon", ("Bandwagon",)),
    Device("obfuscation", "Obfuscation / intentional vagueness",
           "Deliberately unclear words so the audience reads in its own meaning.",
           "Obfuscation,Intentional_Vagueness,Confusion",
           ("Obfuscation, Intentional vagueness, Confusion",)),
    Device("straw_man", "Straw man",
           "Refuting a distorted version of the opponent's position.",
           "Straw_Men", ("Misrepresentation of Someone's Position (Straw Man)",)),
    Device("appeal_to_history", "Appeal to history",
           "Using the past (events, figures, heritage, 'history' itself) as an argument.",
           None),
    Device("us_vs_them", "Us versus them",
           "Splitting the world into an in-group and an out-group set against each other.",
           None),
)

DEVICE_IDS: tuple[str, ...] = tuple(d.id for d in DEVICES)
PTC_DEVICE_IDS: tuple[str, ...] = tuple(d.id for d in DEVICES if d.ptc_alias)
_BY_ID = {d.id: d for d in DEVICES}
_BY_PTC = {d.ptc_alias: d.id for d in DEVICES if d.ptc_alias}
_BY_SEMEVAL = {alias: d.id for d in DEVICES for alias in d.semeval_aliases}


def get_device(device_id: str) -> Device:
    """The device with this id; KeyError naming the known ids otherwise."""
    try:
        return _BY_ID[device_id]
    except KeyError:
        raise KeyError(f"unknown device {device_id!r}; known: {', '.join(DEVICE_IDS)}") from None


def from_ptc(technique: str) -> str:
    """Our device id for a PTC technique id such as 'Name_Calling,Labeling'."""
    try:
        return _BY_PTC[technique]
    except KeyError:
        raise KeyError(f"unknown PTC technique {technique!r}") from None


def from_semeval(technique: str) -> str | None:
    """Our device id for a SemEval-2021 technique name; None for the ones we do not
    catalogue (Smears, Glittering generalities)."""
    return _BY_SEMEVAL.get(technique)
