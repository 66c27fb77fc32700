"""The dashboard's pages. Each module registers itself with `dash.register_page` when imported,
which Dash allows only once the app exists: importing this package first makes sure it does."""

from dashboard.app import create_app

create_app()
