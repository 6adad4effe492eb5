"""Campaigns: the same letter sent many times, found by MinHash + LSH over the author's text,
grouped as it arrives, shown once in the digest, archive, synthesis and export (issue 16)."""
