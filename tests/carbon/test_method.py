"""The method against hand calculations: every species group, both calcification modes, sources."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueranch.models.carbon import method
from blueranch.models.carbon.coefficients import load_coefficients, load_emission_factors
from blueranch.models.carbon.method import (
    CO2_PER_C,
    bivalve_shell_t_c,
    bivalve_t_c,
    calcification_adjusted_t_c,
    diesel_t_co2,
    feed_t_co2e,
    fish_wet_g,
    grid_t_co2,
    macroalgae_t_c,
    meter_increments,
    net_emissions_t_co2e,
    stock_change_wet_t,
    to_t_co2e,
)

# 100 wet t of each group, coefficients typed in from carbon_coefficients.csv (Sun Kang et al. 2020, Table 2).
BIVALVES = {  # group: (total t C, shell t C)
    "clam": (100 * 0.5255 * (0.0198 * 0.4490 + 0.9802 * 0.1152), 100 * 0.5255 * 0.9802 * 0.1152),
    "scallop": (100 * 0.6389 * (0.1435 * 0.4284 + 0.8565 * 0.1140), 100 * 0.6389 * 0.8565 * 0.1140),
    "oyster": (100 * 0.6510 * (0.0614 * 0.4598 + 0.9386 * 0.1268), 100 * 0.6510 * 0.9386 * 0.1268),
    "mussel": (100 * 0.7528 * (0.0847 * 0.4440 + 0.9153 * 0.1176), 100 * 0.7528 * 0.9153 * 0.1176),
    "other_bivalve": (100 * 0.6421 * (0.1141 * 0.4387 + 0.8859 * 0.1144), 100 * 0.6421 * 0.8859 * 0.1144),
}
ALGAE = {
    "kelp": 100 * 0.20 * 0.3120,
    "undaria": 100 * 0.20 * 0.2640,
    "porphyra": 100 * 0.20 * 0.2739,
    "gracilaria": 100 * 0.20 * 0.2060,
    "other_algae": 100 * 0.20 * 0.2776,
}


def test_mussel_by_hand():
    # 100 x 0.7528 x (0.0847 x 0.4440 + 0.9153 x 0.1176) = 100 x 0.7528 x 0.14524608 = 10.93412490 t C
    assert BIVALVES["mussel"][0] == pytest.approx(10.93412490, rel=1e-8)
    assert to_t_co2e(10.93412490) == pytest.approx(40.09179130, rel=1e-8)


@pytest.mark.parametrize("group", sorted(BIVALVES))
def test_bivalve_groups_both_modes(group):
    c = load_coefficients()[group]
    total, shell = BIVALVES[group]
    got = bivalve_t_c(100.0, c.dry_wet_ratio, c.tissue_fraction, c.tissue_c, c.shell_fraction, c.shell_c)
    assert got == pytest.approx(total, rel=1e-12)
    assert bivalve_shell_t_c(100.0, c.dry_wet_ratio, c.shell_fraction, c.shell_c) == pytest.approx(shell)
    assert 100 * c.t_c_per_wet_t == pytest.approx(total, rel=1e-12)
    assert 100 * c.shell_t_c_per_wet_t == pytest.approx(shell, rel=1e-12)
    assert 100 * c.creditable_t_c_per_wet_t("count", 0.7) == pytest.approx(total)
    assert 100 * c.creditable_t_c_per_wet_t("deduct", 0.7) == pytest.approx(total - 0.7 * shell)
    assert 100 * c.creditable_t_c_per_wet_t("deduct", 0.6) == pytest.approx(total - 0.6 * shell)


@pytest.mark.parametrize("group", sorted(ALGAE))
def test_macroalgae_groups_both_modes(group):
    c = load_coefficients()[group]
    assert macroalgae_t_c(100.0, c.dry_wet_ratio, c.algae_c) == pytest.approx(ALGAE[group])
    assert 100 * c.t_c_per_wet_t == pytest.approx(ALGAE[group], rel=1e-12)
    # Algae have no shell: deduct changes nothing.
    assert c.shell_t_c_per_wet_t == 0.0
    assert 100 * c.creditable_t_c_per_wet_t("deduct", 0.7) == pytest.approx(ALGAE[group])


def test_every_table_row_is_covered():
    assert set(load_coefficients()) == set(BIVALVES) | set(ALGAE)


def test_co2e_and_calcification_modes():
    assert CO2_PER_C == pytest.approx(3.6666666667)
    assert calcification_adjusted_t_c(10.0, 4.0, "deduct", 0.7) == pytest.approx(7.2)
    assert calcification_adjusted_t_c(10.0, 4.0, "count") == pytest.approx(10.0)
    with pytest.raises(ValueError, match="count.*deduct"):
        calcification_adjusted_t_c(10.0, 4.0, "bogus")  # type: ignore[arg-type]


def test_stock_change_rules():
    # 40 t at start, 55 t at end, 120 t harvested, 8 t fell off.
    assert stock_change_wet_t(40, 55, 120, 8) == pytest.approx(135)
    assert stock_change_wet_t(40, 55, 120, 8, losses="include") == pytest.approx(143)
    with pytest.raises(ValueError, match="loss rule"):
        stock_change_wet_t(40, 55, 120, 8, losses="sometimes")  # type: ignore[arg-type]
    np.testing.assert_allclose(stock_change_wet_t(np.array([1.0, 2.0]), np.array([3.0, 2.0]), 1.0), [3.0, 1.0])


def test_sources_and_net():
    f = load_emission_factors()
    assert diesel_t_co2(1000, f["diesel"].kg_co2_per_unit) == pytest.approx(2.68)
    assert grid_t_co2(10_000, f["grid_china_national"].kg_co2_per_unit) == pytest.approx(5.306)
    # 100 t feed at 0.43 C, 62.5 t fish retained at 0.1075 t C per wet t: (43 - 6.71875) x 44/12
    assert feed_t_co2e(100, 0.43, 62.5, 0.1075) == pytest.approx((43 - 6.71875) * 44 / 12)
    assert feed_t_co2e(100, 0.43) == pytest.approx(43 * 44 / 12)
    assert net_emissions_t_co2e(10.0, 25.0) == pytest.approx(-15.0)


def test_fish_length_weight():
    # Xu et al. 2017: a = 0.0192, b = 2.917; a 20 cm fish: 0.0192 x 20^2.917 g
    assert fish_wet_g(20, 0.0192, 2.917) == pytest.approx(0.0192 * 20**2.917)
    assert 100 < fish_wet_g(20, 0.0192, 2.917) < 140


def test_meter_increments_reset_jump_and_outlier():
    h = 3_600_000
    t = np.arange(7, dtype=np.int64) * h
    # a reset (15 -> 3: counts on from 3), then a jump of 500 in an hour on a meter rated 100/h
    inc, ev = meter_increments(t, np.array([10, 12, 15, 3, 5, 505, 510.0]), max_rate_per_h=100)
    np.testing.assert_allclose(inc, [0, 2, 3, 0, 2, 0, 5])
    assert ev.tolist() == [0, 0, 0, method.METER_RESET, 0, method.METER_JUMP, 0]
    # one bad reading (a spike, then a dip) between good ones: skipped, nothing lost
    inc, ev = meter_increments(t[:5], np.array([10, 9999, 14, 2, 20.0]), max_rate_per_h=100)
    np.testing.assert_allclose(inc, [0, 0, 4, 0, 6])
    assert ev.tolist() == [0, method.METER_OUTLIER, 0, method.METER_OUTLIER, 0]
    # without a maximum rate a jump counts, a reset never does
    inc, _ = meter_increments(t[:3], np.array([10, 510, 0.0]))
    np.testing.assert_allclose(inc, [0, 500, 0])
    assert meter_increments(t[:0], np.array([]))[0].size == 0


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1e5),  # where the register starts (after a reset: far below where it was)
            st.lists(st.floats(0, 50), min_size=1, max_size=30),  # use per hour, within the 100/h rating
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=200, deadline=None)
def test_meter_use_is_what_each_register_metered_whatever_the_resets(segments):
    """Property: registers restarted any number of times (each from well below where the last one stood)
    give exactly the sum of each register's own use; nothing for the resets."""
    h = 3_600_000
    values, expected, last = [], 0.0, None
    for start, uses in segments:
        if last is not None:
            start = min(start, last - 1000.0)  # a reset goes backwards
            if start < 0:
                start = last - 1000.0
        v = start + np.concatenate([[0.0], np.cumsum(uses)])
        values += v.tolist()
        expected += float(v[-1] - v[0])
        last = float(v[-1])
    t = np.arange(len(values), dtype=np.int64) * h
    inc, ev = meter_increments(t, np.array(values), max_rate_per_h=100)
    assert inc.sum() == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert (ev == method.METER_RESET).sum() == len(segments) - 1
