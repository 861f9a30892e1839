"""One command run's results: the run (model), its texts (render), the list and output (view) and its screens."""
