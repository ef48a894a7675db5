"""A notebook run through papermill refuses a parameter it does not know (papermill only
warns), naming it and the known ones.  Every notebook's full run is in
tests/test_demo_regression.py."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_an_unknown_parameter_stops_the_notebook(run_notebook):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'treshold'"):
        run_notebook("02_classify", treshold=0.3)
