"""The shared plot helpers: tick units and the atomically written, titled PNG."""

from lstm_strategies.core.plotting import new_figure, percent_axis, points_axis, save_figure


def _tick(ax, value: float) -> str:
    return ax.yaxis.get_major_formatter()(value, 0)


def test_percent_and_points_axes_label_fractions_in_their_units():
    fig, ax = new_figure()
    percent_axis(ax)
    assert _tick(ax, 0.4) == "40%"
    points_axis(ax)
    assert _tick(ax, 0.081) == "8.1"
    assert _tick(ax, 0.13) == "13"


def test_save_figure_writes_a_titled_png_and_closes_the_figure(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = new_figure()
    ax.plot([1, 2, 3], [0.1, 0.2, 0.15], label="te30")
    path = save_figure(fig, tmp_path / "plot.png", "a title", "TE30, vol points", "turnover")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ax.get_title(), ax.get_ylabel(), ax.get_xlabel()) == ("a title", "TE30, vol points", "turnover")
    assert ax.get_legend() is not None
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]  # no temporary left behind
