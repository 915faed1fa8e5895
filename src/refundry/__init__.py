"""Refundry: cancel orders and refund money and loyalty points correctly."""

__version__ = "0.1.0"
