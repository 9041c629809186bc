"""galibot routing: graph build, profiles, search and planners for the Bassin minier."""

__version__ = "0.1.0"
