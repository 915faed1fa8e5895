"""Webhook delivery to merchants' endpoints: signed to the Standard Webhooks spec."""
