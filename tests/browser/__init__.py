"""Browser tests: the course's notebooks in real JupyterLab and Chromium (Playwright)."""
