"""The ports: what the use cases read and write through, with SQL and providers behind them."""
