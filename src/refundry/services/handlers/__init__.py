"""The use cases by area, and the handlers the message bus runs on their events."""
