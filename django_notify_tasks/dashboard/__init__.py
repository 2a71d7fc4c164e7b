"""The staff dashboard: deliveries over time, failure reasons, delays, backlog and users.

``queries`` asks the database (a fixed number of aggregate queries), ``latency`` turns
delay histograms into percentiles, ``charts`` turns figures into SVG geometry and tables,
``page`` puts them together for ``views.dashboard``.
"""
