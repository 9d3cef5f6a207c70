"""Judge templates, judge prompts and the training data made from judgments."""
