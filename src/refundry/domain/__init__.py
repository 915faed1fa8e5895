"""The pure domain: money, orders, refunds and their rules. Standard library only."""
