"""The command line `rig` (the top floor): serve, export, user, db, analyze, replay."""
