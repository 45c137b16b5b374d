"""The composition app: what shows the campaign core, petitions, donations and officials
together (the landing page, the campaign detail endpoint, the widget config, the demo)."""
