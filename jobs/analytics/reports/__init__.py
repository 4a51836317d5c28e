"""Analytics reports: a period's numbers as a self-contained HTML page with charts and a CSV.

``model`` is what a report holds, ``periods`` the day/week/month it covers, ``charts`` and
``page`` the HTML with server-side SVG, ``table_csv`` the CSV, ``store`` the pair written to
storage, ``kinds`` the registry of reports by name. One module per report builds it from what
the other analytics modules stored: ``engagement``, ``performance`` and ``platform_weekly`` from
the rollups (read through ``reads``), ``retention`` from the cohorts and the funnel,
``platform_monthly`` from the platform days and revenue; ``trend_rows`` turns ``trends`` into
table rows for them.
"""
