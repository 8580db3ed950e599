"""Evaluation reports: one self-contained HTML page per trained model (see `page.py`)."""

from jobs.reports.metric_lines import LearningCurves, parse_metric_lines
from jobs.reports.page import MovieEmbeddings, PackageFigures, ReportData, render_html, write_report

__all__ = [
    "LearningCurves",
    "MovieEmbeddings",
    "PackageFigures",
    "ReportData",
    "parse_metric_lines",
    "render_html",
    "write_report",
]
