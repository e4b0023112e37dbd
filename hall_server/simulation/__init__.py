"""The hall simulator (模拟): whole hall days through the real services on a simulated clock.

``scenario.py`` reads what a day looks like (arrivals, handling times, windows, pauses,
no-shows, transfers, green channel); ``engine.py`` runs it through ``issue_ticket`` and
``window_action`` on a fresh database and returns the dashboard's figures for each day.
"""
