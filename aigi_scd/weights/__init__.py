"""Model weights for every stage: where they come from (hub, local folder, tiny offline builder), loading
them with one clear line when they cannot be had, and the device and precision they run in.

Pipelines (text-to-image) and the codec (VLM, segmenter, diffusion decoder) both load through here, so
neither reaches into the other.
"""
