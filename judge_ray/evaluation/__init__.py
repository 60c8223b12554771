"""Judge metrics (pure) and the evaluation of a judge on labelled pairs."""
