"""Payment provider adapters: each implements ``refundry.domain.payments.PaymentProvider``."""
