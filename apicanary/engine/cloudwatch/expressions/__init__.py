"""CloudWatch metric math: the language (``syntax``: tokenizer, tree, parser) and its meaning
over time series (``evaluator``)."""
