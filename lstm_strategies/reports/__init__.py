"""What a run reports: metrics, tables, the tearsheet with the plugin's section, figures, dashboards.

``from lstm_strategies.reports import write_report`` keeps working.
"""

from lstm_strategies.reports.write import print_summary, write_comparison, write_report

__all__ = ["print_summary", "write_comparison", "write_report"]
