"""The sales cockpit web app: pages and JSON API over the warehouse snapshot (see lodestar.cockpit.app)."""
