"""The pages of the web app, one module each, each with ``render(ws)``."""
