"""Fine-tuning a judge: SFT examples -> Ray Train + DeepSpeed ZeRO-3 -> a Hugging Face directory."""
