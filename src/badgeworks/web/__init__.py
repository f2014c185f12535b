"""The web service: ``create_app(settings)`` builds it; nothing happens at import."""
