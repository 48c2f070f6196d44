"""The MISC codec, layer by layer: the file format (bitstream), the semantic layer (what is in the image:
semantics, describe, vlm, vlm_answer, textcode), the region maps (where: regions, clipseg, mapcode, arith),
the pixel layer, and the decoders that rebuild the picture from the three (decoders, diffusion_decoder,
prompt_fit); ``codec`` puts them behind the codec interface and ``factory`` builds one from a preset."""
