"""Fine-tuning of prompt classifiers (BERT-style and causal-LM routers, the quality-gap router).

Heavy libraries (torch, transformers) are imported inside functions only.
"""
