"""Text-to-image pipelines: model cards (``pipelines/<name>.yaml``), loading a card into a diffusers
pipeline, batched seeded generation, and the tiny offline builders of each family."""
