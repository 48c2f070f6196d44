"""Plain image formats behind the codec interface: full-resolution JPEG, WebP and AVIF (baselines), the AVIF
thumbnail codec (thumb), and the AV1 helpers they and MISC's pixel layer share (av1)."""
