"""Message templates the runtime and its commands can render without importing job code
(``odyssey-workers notify --preview`` renders through here; so do the notification jobs)."""
