"""Chart geometry (webapp.charts): round scales and ticks, stacked and side-by-side columns, bar
lists: every bar's size is its value on the chart's one scale."""

from __future__ import annotations

import pytest

from webapp import charts

PLOT = charts.HEIGHT - charts.TOP - charts.BOTTOM


@pytest.mark.parametrize(
    ("largest", "top"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (5, 5), (6, 10), (11, 20), (21, 50), (51, 100), (4321, 5000)],
)
def test_the_top_is_a_round_number_at_least_the_largest(largest, top):
    assert charts.nice_top(largest) == top


@pytest.mark.parametrize(
    ("top", "ticks"),
    [(1, [0, 1]), (2, [0, 1, 2]), (5, [0, 5]), (20, [0, 5, 10, 15, 20]), (50, [0, 25, 50])],
)
def test_ticks_are_whole_numbers_up_to_the_top(top, ticks):
    assert charts.Scale(top, 100).ticks() == ticks


def test_stacked_columns_sit_on_each_other_from_the_axis_up():
    chart = charts.columns(["1 Nov", "2 Nov"], [("delivered", [3, 0]), ("failed", [1, 2])])
    assert chart.scale.top == 5
    first, second = chart.columns
    assert first.total == 4 and second.total == 2
    delivered, failed = first.rects
    assert (delivered.series, delivered.value, failed.series, failed.value) == (
        "delivered",
        3,
        "failed",
        1,
    )
    assert delivered.height == pytest.approx(3 / 5 * PLOT, abs=0.01)
    assert delivered.y + delivered.height == pytest.approx(chart.bottom)
    assert failed.y + failed.height == pytest.approx(delivered.y)
    # A zero draws nothing: the second day has only its failures.
    assert [r.series for r in second.rects] == ["failed"]
    assert second.rects[0].height == pytest.approx(2 / 5 * PLOT, abs=0.01)


def test_columns_stay_inside_the_plot_in_order():
    labels = [str(n) for n in range(30)]
    chart = charts.columns(labels, [("parts", list(range(30)))])
    xs = [column.rects[0].x for column in chart.columns[1:]]
    assert xs == sorted(xs)
    last = chart.columns[-1].rects[0]
    assert chart.left <= xs[0] and last.x + last.width <= chart.right
    assert last.y == pytest.approx(chart.bottom - 29 / 50 * PLOT, abs=0.01)
    assert [tick.value for tick in chart.ticks] == [0, 25, 50]
    assert chart.ticks[-1].y == pytest.approx(chart.top)


def test_side_by_side_columns_share_a_slot_and_scale_on_the_tallest():
    chart = charts.columns(["d"], [("replies", [4]), ("opt_outs", [1])], stacked=False)
    assert chart.scale.top == 5  # the taller bar, not the sum
    replies, opt_outs = chart.columns[0].rects
    assert opt_outs.x == pytest.approx(replies.x + replies.width)
    assert replies.y + replies.height == opt_outs.y + opt_outs.height == chart.bottom


def test_a_fixed_top_for_percentages():
    chart = charts.columns(["d"], [("rate", [75])], top=100)
    assert chart.columns[0].rects[0].height == pytest.approx(0.75 * PLOT, abs=0.01)
    assert [tick.value for tick in chart.ticks] == [0, 25, 50, 75, 100]


def test_nothing_to_draw_still_has_an_axis():
    chart = charts.columns(["d"], [("parts", [0])])
    assert chart.scale.top == 1 and chart.columns[0].rects == ()
    assert charts.bar_list([]).bars == () and charts.bar_list([]).height == charts.ROW


def test_a_bar_list_draws_the_longest_full_length():
    chart = charts.bar_list([("Handset off", 10), ("Blocked", 5), ("Tiny", 0)])
    longest, half, none = chart.bars
    assert longest.length == chart.scale.length
    assert half.length == pytest.approx(chart.scale.length / 2)
    assert none.length == 0
    assert [bar.y for bar in chart.bars] == [0, charts.ROW, 2 * charts.ROW]
    assert chart.height == 3 * charts.ROW
