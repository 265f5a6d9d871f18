"""A stored trial analysed again: its setup, its metrics from the raw frames, replay and the
`rig analyze` of recording files."""
