"""Tyndau server: the aiohttp process hosting hearings, auth, the SFU and the API."""
