"""Analytics reports: a period's numbers as a self-contained HTML page with charts and a CSV.

``model`` is what a report holds, ``periods`` the day/week/month it covers, ``charts`` and
``page`` the HTML with server-side SVG, ``table_csv`` the CSV, ``store`` the pair written to
storage, ``kinds`` the registry of reports by name, and one module per report that reads the
rollups and builds it.
"""
