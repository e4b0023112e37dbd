"""Hall devices: printers, LED signs, keypads, ID-card readers.

A library: every device is a Protocol with real adapters and a shipped fake, chosen by
config. It never imports an app (hall_server, kiosk, display, window_client).
"""
