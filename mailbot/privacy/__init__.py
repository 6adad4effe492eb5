"""Publication consent, confidentiality, erasure and retention (issue 14)."""
