"""Real Chromium through Playwright, the whole way a therapist or patient goes."""
