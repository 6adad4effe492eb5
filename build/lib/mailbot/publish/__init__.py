"""Publishing what was said: the static archive, Atom feeds, exports and the synthesis."""
