"""The build stage: plan → generate → filter → write shards, resumable shard by shard, and re-filtering a
finished build (``aigi-scd build``, ``aigi-scd filter``)."""
