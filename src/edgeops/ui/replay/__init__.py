"""Replaying a recording in the console: the player, the time bar and its keys, `go back to…`."""
