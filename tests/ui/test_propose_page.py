"""The Propose page under AppTest: the constraints form, the batch (constraints respected),
the CSV download."""

from __future__ import annotations

from pathlib import Path

from tests.ui._harness import open_page, submit, texts


def test_form_widgets(trained_workspace: Path) -> None:
    at = open_page("Propose")
    for key in ("prop_electrode", "prop_electrolyte", "prop_family", "prop_exclude"):
        assert at.text_input(key=key) is not None
    for key in ("prop_n", "prop_min_t", "prop_max_t", "prop_max_d", "prop_max_coatings",
                "prop_per_coating", "prop_max_candidates", "prop_replicates", "prop_seed"):
        assert at.number_input(key=key) is not None
    assert at.selectbox(key="prop_surrogate").options == ["champion", "gp", "gp-prior",
                                                          "gp-transfer"]
    assert at.checkbox(key="prop_same_t").value is False


def test_bad_element_is_named(trained_workspace: Path) -> None:
    at = open_page("Propose")
    at.text_input(key="prop_exclude").set_value("Co, Qq")
    submit(at, "Propose")
    assert texts(at.error) == ["excluded elements: 'Qq' is not a chemical element symbol"]


def test_same_temperature_batch_under_constraints(trained_workspace: Path) -> None:
    at = open_page("Propose")
    at.number_input(key="prop_n").set_value(3)
    at.number_input(key="prop_max_candidates").set_value(150)
    at.number_input(key="prop_max_t").set_value(200.0)
    at.text_input(key="prop_exclude").set_value("Co, Ni")
    at.checkbox(key="prop_same_t").check()
    submit(at, "Propose")
    assert not at.error, texts(at.error)
    batch = at.dataframe[0].value
    assert len(batch) == 3
    assert batch["temperature_c"].nunique() == 1 and (batch["temperature_c"] <= 200).all()
    assert not batch["coating"].str.contains("Co|Ni").any()
    assert batch["proposal_id"].is_unique
    assert any("Same-temperature batch" in t for t in texts(at.info))
    download = at.get("download_button")
    assert len(download) == 1
    assert at.subheader[0].value.endswith(": 3 recipes")
