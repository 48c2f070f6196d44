"""aigi-scd: build AIGI-SCD, a benchmark of AI-generated images for ultra-low-bitrate semantic
image compression, and run the MISC codec it measures."""

__version__ = "0.1.0"
