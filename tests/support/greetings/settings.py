"""The greetings domain's one setting, read from GREETINGS_STYLE as every setting is."""

from __future__ import annotations

from typing import Literal

from odyssey_workers.settings import DomainSettings


class GreetingsSettings(DomainSettings):
    # --- greetings (sample domain) -----------------------------------------------------------
    greetings_style: Literal["plain", "loud"] = "plain"  # loud: upper case with an exclamation mark


SETTINGS = GreetingsSettings
