"""Content processing: the upload pipeline, images, video, audio, watermarks and live streams.

One module per concern. Sniffing, caps, the safe image open, ffmpeg/ffprobe and the generic
failure reasons are the runtime's (``odyssey_workers.media``); here are the content rules and
jobs. Image side: ``imaging`` (content caps, decode, orient, sRGB, resize, encode), ``images``
(the jobs), ``animation`` (GIF to animated WebP and MP4), ``placeholder``, ``smartcrop``,
``watermark``; ``assets`` (the run and step-result protocol every step follows), ``step`` (that
protocol as one context manager for the media steps), ``delivery`` (publish and roll back) and
``pipeline``.
"""
