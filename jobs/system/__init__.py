"""The runtime's own jobs: health round trips, drills and a media-stack check."""
