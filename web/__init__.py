"""`vantage web`: the public, read-only face of one or more collectors (pages, charts, JSON, feeds).

Stateless: everything comes from QueryService (web/source.py), so any number of
replicas can stand behind a cache. The pure parts turn request parameters into
queries (web/params.py) and QueryService messages into what a page shows
(web/views.py); aiohttp (web/server.py), Jinja2 (web/render.py) and matplotlib
(web/charts.py) are the edges. docs/web.md describes the addresses.
"""
