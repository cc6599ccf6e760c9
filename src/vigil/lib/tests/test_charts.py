from vigil.lib.charts import sparkline


def test_sparkline_scales_and_breaks_at_gaps():
    d = sparkline([100, 90, None, 80], width=30, height=20, low=80, high=100)
    assert d == "M0.0,0.0 L10.0,10.0 M30.0,20.0"


def test_values_outside_the_range_are_clamped_and_empty_input_draws_nothing():
    assert sparkline([200, -5], width=10, height=10, low=0, high=100) == "M0.0,0.0 L10.0,10.0"
    assert sparkline([], low=0, high=1) == ""
    assert sparkline([None, None], low=0, high=1) == ""
