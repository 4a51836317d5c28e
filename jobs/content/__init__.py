"""Content processing: the upload pipeline, images, video, audio, watermarks and live streams.

One module per concern. Image side: ``sniff`` (what the bytes are), ``imaging`` (decode under
caps, orient, sRGB, resize, encode), ``images`` (the jobs), ``animation`` (GIF to animated WebP
and MP4), ``placeholder``, ``smartcrop``, ``watermark``, ``assets`` (the run and step-result
protocol every step follows), ``delivery`` (publish and roll back) and ``pipeline``.
"""
