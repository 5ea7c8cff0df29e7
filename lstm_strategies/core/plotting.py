"""Plot helpers shared by the evaluation and the reports (the bottom floor: no trading code here).

Every figure gets a title, labelled axes, a legend and plain percent or growth ticks (no
scientific notation), and is written atomically as PNG.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lstm_strategies.core.atomic import atomic_write


def configure_matplotlib() -> None:
    """Headless plotting: the Agg backend before backtrader.plot can force TkAgg; quiet font noise."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot  # noqa: F401  (binds the backend)

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def new_figure(width: float = 10.0, height: float = 4.5):
    """A figure and one axes, with the headless backend selected."""
    configure_matplotlib()
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def percent_axis(ax, axis: str = "y", decimals: int = 0) -> None:
    """Show fractions as percentages (0.4 -> 40%)."""
    from matplotlib.ticker import PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def points_axis(ax, axis: str = "y") -> None:
    """Show volatility fractions as volatility points (0.081 -> 8.1), the unit of TE30."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}"))


def growth_axis(ax) -> None:
    """A log scale for growth of 1, labelled in plain numbers (0.5, 1, 2) rather than 2x10^0."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def save_figure(fig, path: str | Path, title: str, ylabel: str, xlabel: str | None = None,
                legend: bool = True) -> Path:
    """Title, label, legend and grid the first axes, then write the PNG atomically and close it."""
    import matplotlib.pyplot as plt

    ax = fig.axes[0]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path
