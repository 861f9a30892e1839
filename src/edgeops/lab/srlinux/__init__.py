"""The simulated SR Linux (7220 IXR) command line: its commands and the text it renders."""
