"""Planners: tours, stages, round trips, trail courses, named circuits and isochrones.

Every planner returns ``routing.route.Route`` objects (wrapped with its own facts), so GPX
export and the API treat a planned result like any route.
"""
