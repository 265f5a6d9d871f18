"""The rig, by job: live/ (a patient on the rig), recording/, offline/, clinic/, access/, and
the shared vocabulary (model.py), settings and records beside them."""
