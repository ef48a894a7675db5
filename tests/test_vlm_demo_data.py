"""The demo VLM's caption sets and generic descriptions (vaselib.vlm.demo_data)."""
from __future__ import annotations

import json
import re

import pytest

from vaselib import synth, vocabulary as v
from vaselib.vlm import data as vdata
from vaselib.vlm import demo_data as dd


def _domain_names() -> list[str]:
    """Every name and synonym of the domain vocabulary, lower-case (built here, not by the
    caption parser the descriptions are also checked with)."""
    names = list(v.FABRICS) + [s for syn in v.FABRICS.values() for s in syn]
    names += list(v.TECHNIQUES) + [s for syn in v.TECHNIQUE_SYNONYMS.values() for s in syn]
    names += list(v.SHAPES) + list(v.PAINTERS) + list(v.FIND_SPOTS) + list(v.COLLECTIONS)
    names += ["herakles", "theseus", "athena", "dionysos", "achilles", "ajax", "eros",
              "amazon", "gigant", "minotaur", "nemean", "erymanthian", "symposion",
              "meander", "palmette", "lotus", "black figure", "red figure", "white ground",
              "black gloss", "black glaze", "cup", "plate"]
    return [n.lower() for n in names]


def test_generic_descriptions_use_no_domain_names():
    texts = [e["description"] for e in dd.pretrain_examples(400, render=False)]
    texts += [dd.generic_description({"shape": s, "technique": t, "fabric": f,
                                      "decoration": "an owl with meander borders"}, "front")
              for s in v.SHAPES for t in v.TECHNIQUES for f in list(v.FABRICS)[:2]]
    names = _domain_names()
    for text in texts:
        low = text.lower()
        hits = [n for n in names if re.search(r"(?<![a-z])" + re.escape(n), low)]
        assert not hits, (text, hits)
    from vaselib.vlm.captions import find_terms  # and the reward's own parser finds none
    assert not [t for text in texts[:200] for t in find_terms(text)]


def test_descriptions_follow_what_the_renderer_draws():
    # one silhouette, one description: amphora and neck-amphora are drawn alike
    assert dd.silhouette("amphora") == dd.silhouette("neck-amphora")
    assert dd.silhouette("kylix") == dd.silhouette("lip cup") == dd.silhouette("band cup")
    assert dd.silhouette("lekythos") != dd.silhouette("squat lekythos")
    # 36 shapes, drawn with 30 silhouettes (5 groups of look-alikes, see synth._shape_spec)
    assert len({dd.silhouette(s) for s in v.SHAPES}) == 30
    a = {"fabric": "Athenian", "technique": "black-figure", "shape": "hydria",
         "decoration": "Herakles and the Nemean lion with ivy borders"}
    text = dd.generic_description(a, "three_quarter")
    assert text == ("Reddish-orange clay with dark silhouettes painted on it; a jar with a "
                    "narrow neck and three handles, two small sideways ones and a tall upright "
                    "one at the back; the picture: a man wrestling a lion, framed by bands of "
                    "heart-shaped leaves. Seen at an angle.")
    parts = dd.description_parts(a, "three_quarter")
    assert parts == {"silhouette": dd.silhouette("hydria"), "look": "black-figure",
                     "clay": "reddish-orange", "scene": "a man wrestling a lion",
                     "border": "heart-shaped leaves", "view": "three_quarter"}
    for key, value in parts.items():
        assert value in dd.DESCRIPTION_PARTS[key]


def test_vase_draws_are_deterministic_and_exclusion_holds():
    a, skipped = dd.sample_vases(123, 30)
    b, _ = dd.sample_vases(123, 30)
    assert a == b and skipped == 0
    assert len({v["id"] for v in a}) == 30
    assert {v["view_kind"] for v in a} <= {"front", "three_quarter"}
    keys = {dd.attribute_key(x["attributes"]) for x in a[:10]}
    # the same seed again, excluding its first ten vases: those ten are skipped
    c, skipped = dd.sample_vases(123, 30, exclude=keys)
    assert skipped == 10 and not keys & {dd.attribute_key(x["attributes"]) for x in c}
    assert dd.set_keys(123, 10) == keys


def test_the_demo_sets_are_disjoint():
    train = dd.set_keys(dd.TRAIN_SEED, dd.DEMO_TRAIN_VASES)   # stands in for the corpus
    pre = dd.set_keys(dd.PRETRAIN_SEED, dd.DEMO_PRETRAIN_VASES, dd.PRETRAIN_VIEWS)
    config = dd.heldout_config(exclude_keys=train)
    held, _ = dd.sample_vases(config.seed, config.n_vases, dd._excluded_keys(config))
    held_keys = {dd.attribute_key(x["attributes"]) for x in held}
    assert len(held_keys) == config.n_vases
    assert not held_keys & train and not held_keys & pre


def test_a_caption_set_on_disk(tmp_path):
    config = dd.CaptionSetConfig("t", 5, 777, image_size=56)
    s = dd.ensure_caption_set(config, tmp_path / "set")
    assert len(s) == 5 and s.folder == tmp_path / "set"
    records = json.loads(s.records_file.read_text(encoding="utf-8"))
    truth = json.loads(s.ground_truth_file.read_text(encoding="utf-8"))
    for rec, gt, vase in zip(records, truth, s.vases):
        assert rec["caption"] == gt["caption"] == synth.format_caption(vase["attributes"])
        assert rec["images"] == [f"images/{gt['images'][0]}"]
        assert synth.FILE_NAME_RE.match(gt["images"][0])
        assert rec["conversations"][0] == {"from": "human",
                                           "value": "<image>" + v.CAPTION_PROMPT}
        assert rec["conversations"][1] == {"from": "gpt", "value": rec["caption"]}
        assert (s.folder / rec["images"][0]).is_file()
    ds = vdata.from_records_file(s.records_file)  # the stage-05 reader takes it as is
    assert len(ds.records) == 5 and not ds.bad
    assert ds.records[0].attributes["technique"] == s.vases[0]["attributes"]["technique"]
    stamp = (s.folder / dd.SET_FILE).stat().st_mtime_ns
    again = dd.ensure_caption_set(config, tmp_path / "set")  # cached: not rendered again
    assert again.vases == s.vases and (s.folder / dd.SET_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("n", [1, 3])
def test_pretraining_examples_render(n):
    ex = dd.pretrain_examples(n, image_size=56)
    assert len(ex) == n
    assert ex[0]["image"].size == (56, 56) and ex[0]["prompt"] in dd.GENERIC_PROMPTS
    assert ex[0]["description"] == dd.generic_description(ex[0]["attributes"],
                                                          ex[0]["view_kind"])
