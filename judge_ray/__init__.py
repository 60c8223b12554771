"""judge_ray: manufacture LLM judges on Ray."""
