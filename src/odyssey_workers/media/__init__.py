"""Hostile-file handling every domain shares: what a file really is, how big it may be, and
how to open it without trusting it.

``sniff`` (the type from the bytes), ``caps`` (the limits a caller passes in), ``safe_image``
(Pillow opened under the caps before a pixel is decoded), ``ffmpeg_tools`` (ffmpeg/ffprobe as
argument lists with the protocol allow-list and timeouts), ``probe`` (a video or audio file
checked against the caps), ``reasons`` (the plain sentence a failure carries for the user).
The limits are parameters: each domain reads its own settings and passes them in.
"""
