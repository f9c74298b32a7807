"""fraudft: a test-driven ablation benchmark suite for LoRA fine-tuning of chat LLMs that
classify Chinese dialogue transcripts as fraud or not fraud."""

__version__ = "0.1.0"
