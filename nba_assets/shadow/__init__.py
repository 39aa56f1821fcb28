"""Shadow runs: re-derive a range from the raw archive with candidate code, diff it against what
is published, then promote it (one commit per table) or discard it. docs/shadow.md."""
