"""The course on a real JupyterHub: accounts, exchange, round trip in Chromium."""
