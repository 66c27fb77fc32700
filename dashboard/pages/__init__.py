"""The dashboard's pages. Each module registers itself with `dash.register_page` when imported,
which Dash allows only once an app exists: importing this package first makes sure one does."""

from dashboard.app import pages_ready

pages_ready()
