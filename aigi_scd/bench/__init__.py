"""The benchmark stage: every set through every codec at every target (``aigi-scd compress``), scored with
pyiqa metrics, and the tables, rate–quality plots and BD-rates derived from the results."""
