"""Figures and one-page HTML reports built from run records; algorithms never import this package."""

from astroglia.report.html import Section, write_html_report

__all__ = ["Section", "write_html_report"]
