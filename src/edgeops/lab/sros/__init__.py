"""The simulated SR OS (7750 SR) command lines, MD-CLI and classic: their commands and the text they render."""
